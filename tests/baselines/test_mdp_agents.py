"""Tests for the tabular-MDP agents of RL²'s Table 2 (baselines/mdp)."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

from adaptax.baselines import mdp
from adaptax.baselines.mdp import (
    MDP_GRIDS,
    TIE_ATOL,
    TIE_RTOL,
    mdp_outcomes,
    optimal_value,
    run_mdp_agent,
    run_mdp_grid,
)

H = 10


def _instances(num: int, num_states: int = 10, num_actions: int = 5, seed: int = 0):
    """μ ~ N(1, 1), rows ~ Dirichlet(1), as float32 (like the environment's sampler)."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(1.0, 1.0, (num, num_states, num_actions)).astype(np.float32)
    rows = rng.dirichlet(np.ones(num_states), (num, num_states, num_actions)).astype(np.float32)
    return mu, rows


@pytest.fixture(scope="module")
def small():
    return _instances(6)


# --------------------------------------------------------------------------- slow reference


def _stream(seed, *index):
    """The documented streams: SeedSequence([seed, stream, episode, (sample)])."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *index])))


def slow_plan(reward_per_step, rows, num_states, num_actions):
    """Backward induction, plain loops; reward_per_step[h][s][a]."""
    q = [[[0.0] * num_actions for _ in range(num_states)] for _ in range(H)]
    v_next = [0.0] * num_states
    for h in reversed(range(H)):
        v = [0.0] * num_states
        for s in range(num_states):
            for a in range(num_actions):
                q[h][s][a] = reward_per_step[h][s][a] + sum(
                    rows[s][a][t] * v_next[t] for t in range(num_states)
                )
            v[s] = max(q[h][s])
        v_next = v
    return q


def slow_evi(reward, rows, slack, num_states, num_actions, compound):
    """Extended value iteration one (s, a) at a time; `compound` edits the rows in place."""
    rows = [[list(rows[s][a]) for a in range(num_actions)] for s in range(num_states)]
    q = [[[0.0] * num_actions for _ in range(num_states)] for _ in range(H)]
    v_next = [0.0] * num_states
    for h in reversed(range(H)):
        order = sorted(range(num_states), key=lambda t: (v_next[t], t))
        for s in range(num_states):
            for a in range(num_actions):
                p = rows[s][a] if compound else list(rows[s][a])
                best = order[-1]
                if p[best] + slack[s][a] / 2 > 1:
                    p = [0.0] * num_states
                    p[best] = 1.0
                else:
                    p[best] += slack[s][a] / 2
                ell = 0
                while sum(p) > 1 + 1e-12:
                    worst = order[ell]
                    p[worst] = max(0.0, 1.0 - (sum(p) - p[worst]))
                    ell += 1
                q[h][s][a] = reward[s][a] + sum(p[t] * v_next[t] for t in range(num_states))
        v_next = [max(q[h][s]) for s in range(num_states)]
    return q


def slow_trial(name, mu, rows, i, n, seed, mode, hp=None):
    """One trial on instance i of the batch (mu, rows), written the obvious way."""
    num, num_states, num_actions = mu.shape
    mu_i = mu[i].astype(np.float64)
    p_i = rows[i].astype(np.float64)
    paper = mode == "paper"
    outcomes = mdp_outcomes(num, n, H, seed)
    visits = np.zeros((num_states, num_actions))
    reward_sum = np.zeros((num_states, num_actions))
    trans = np.zeros((num_states, num_actions, num_states))
    total = 0.0
    for e in range(n):
        tie = _stream(seed, 2, e).random((num, H, num_actions))[i]
        flip = _stream(seed, 3, e).random((num, H))[i]
        random_action = _stream(seed, 4, e).integers(0, num_actions, (num, H))[i]
        epsilon = 0.0
        if name == "random":
            q = np.zeros((H, num_states, num_actions))
            epsilon = 1.0
        elif name in ("greedy", "epsilon_greedy"):
            epsilon = hp if name == "epsilon_greedy" else 0.0
            r_hat = reward_sum / (1e-4 + visits)
            p_hat = (1e-4 + trans) / (1e-4 + trans).sum(-1, keepdims=True)
            q = slow_plan([r_hat] * H, p_hat, num_states, num_actions)
        elif name in ("psrl", "opsrl"):
            samples = 1 if name == "psrl" else hp
            mu0 = 0.0 if paper else 1.0
            precision = 1.0 + visits
            mean = (mu0 + reward_sum) / precision
            counted = int(trans.sum())
            q = np.full((H, num_states, num_actions), -np.inf)
            for j in range(samples):
                # entry (s, a, s') has its own Exp(1) from u_prior; its c(s, a, s') more come from
                # the count block, the entries taking turns row-major over (s, a, s')
                u_prior = _stream(seed, 5, e, j).random((num, *trans.shape))[i]
                u_count = _stream(seed, 6, e, j).random((num, counted))[i]
                z = _stream(seed, 7, e, j).standard_normal((num, num_states, num_actions))[i]
                gam = np.zeros(trans.shape)
                pointer = 0
                for s in range(num_states):
                    for a in range(num_actions):
                        for t in range(num_states):
                            gam[s, a, t] = -math.log(1.0 - u_prior[s, a, t])
                            for _unit in range(int(trans[s, a, t])):
                                gam[s, a, t] -= math.log(1.0 - u_count[pointer])
                                pointer += 1
                p_sample = gam / gam.sum(-1, keepdims=True)
                r_sample = mean + z / np.sqrt(precision)
                q = np.maximum(q, slow_plan([r_sample] * H, p_sample, num_states, num_actions))
        elif name == "beb":
            mu0 = 0.0 if paper else 1.0
            precision = 1.0 + visits
            mean = (mu0 + reward_sum) / precision
            alpha = 1.0 + trans
            p_mean = alpha / alpha.sum(-1, keepdims=True)
            beta = 2 * H * H * hp
            p_bonus = beta * (H if paper else 1) / (1 + alpha.sum(-1))
            per_step = [mean + 1.0 / (precision + 1.0) + p_bonus * (H - 1 - h) for h in range(H)]
            q = slow_plan(per_step, p_mean, num_states, num_actions)
        elif name == "ucrl2":
            r_hat = reward_sum / (1e-4 + visits)
            p_hat = (1e-5 + trans) / (1e-5 + trans).sum(-1, keepdims=True)
            log_term = math.log(2 * num_states * num_actions * (e + 1) / 0.05)
            n_p = trans.sum(-1) + ((num_states - 1) * 1e-5 if paper else 0.0)
            r_slack = hp * np.sqrt(4 * log_term / np.maximum(visits, 1))
            p_slack = hp * np.sqrt(4 * num_states * log_term / np.maximum(n_p, 1))
            q = slow_evi(r_hat + r_slack, p_hat, p_slack, num_states, num_actions, paper)
        else:
            raise AssertionError(name)
        s = 0
        for h in range(H):
            q_s = q[h][s]
            top = max(q_s)
            tol = TIE_ATOL + TIE_RTOL * abs(top)
            tied = [a for a in range(num_actions) if q_s[a] >= top - tol]
            a = max(tied, key=lambda b: tie[h][b])
            if flip[h] < epsilon:
                a = int(random_action[h])
            r = mu_i[s, a] + outcomes.reward_noise[i, e, h]
            u_next, running, s_next = outcomes.next_state_uniform[i, e, h], 0.0, num_states - 1
            for t in range(num_states):
                running += p_i[s, a, t]
                if u_next < running:
                    s_next = t
                    break
            total += r
            visits[s, a] += 1
            reward_sum[s, a] += r
            if not paper or h < H - 1:
                trans[s, a, s_next] += 1
            s = s_next
    return total


AGENT_CASES = [
    ("random", {}, None),
    ("greedy", {}, None),
    ("epsilon_greedy", {"epsilon": 0.3}, 0.3),
    ("psrl", {}, None),
    ("opsrl", {"num_samples": 3}, 3),
    ("beb", {"scaling": 0.003}, 0.003),
    ("ucrl2", {"scaling": 0.2}, 0.2),
]


@pytest.mark.parametrize("mode", ["paper", "clean"])
@pytest.mark.parametrize(("name", "hparams", "hp"), AGENT_CASES)
def test_agent_matches_slow_single_instance_reference(small, name, hparams, hp, mode):
    mu, rows = small
    n = 4
    for seed in (0, 7):
        fast = run_mdp_agent(name, mu, rows, n, seed, mode=mode, **hparams)
        assert fast.shape == (len(mu),)
        slow = [slow_trial(name, mu, rows, i, n, seed, mode, hp) for i in range(len(mu))]
        np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-4)


# --------------------------------------------------------------------------- common random numbers


def test_outcomes_are_common_and_nested():
    out = mdp_outcomes(5, 4, H, seed=3)
    assert out.reward_noise.shape == out.next_state_uniform.shape == (5, 4, H)
    again = mdp_outcomes(5, 4, H, seed=3)
    np.testing.assert_array_equal(out.reward_noise, again.reward_noise)
    bigger = mdp_outcomes(8, 6, H, seed=3)  # instance-major per episode: prefixes agree
    np.testing.assert_array_equal(bigger.reward_noise[:5, :4], out.reward_noise)
    np.testing.assert_array_equal(bigger.next_state_uniform[:5, :4], out.next_state_uniform)
    other = mdp_outcomes(5, 4, H, seed=4)
    assert not np.allclose(other.reward_noise, out.reward_noise)


def test_outcome_marginals():
    # 100·10·10 = 10⁴ draws: the mean of N(0, 1) has sd 0.01, of U[0, 1) sd 0.0029 (4 sd bounds)
    out = mdp_outcomes(100, 10, H, seed=0)
    assert abs(out.reward_noise.mean()) < 0.04
    assert abs(out.reward_noise.var() - 1.0) < 0.06  # sd of the variance ≈ sqrt(2/10⁴) = 0.014
    assert abs(out.next_state_uniform.mean() - 0.5) < 0.012
    assert out.next_state_uniform.min() >= 0.0 and out.next_state_uniform.max() < 1.0


def test_grid_points_and_agents_share_randomness(small):
    mu, rows = small
    n = 3
    both = mdp.beb(mu, rows, n, 0, [0.001, 0.1])
    np.testing.assert_allclose(both[1], mdp.beb(mu, rows, n, 0, 0.1), rtol=1e-6)
    eps = mdp.epsilon_greedy(mu, rows, n, 0, [0.0, 1.0])
    np.testing.assert_allclose(eps[0], mdp.greedy(mu, rows, n, 0), rtol=1e-6)
    np.testing.assert_allclose(eps[1], mdp.random(mu, rows, n, 0), rtol=1e-6)
    samples = mdp.opsrl(mu, rows, n, 0, [1, 3])
    np.testing.assert_allclose(samples[0], mdp.psrl(mu, rows, n, 0), rtol=1e-6)
    np.testing.assert_allclose(samples[1], mdp.opsrl(mu, rows, n, 0, 3), rtol=1e-6)
    ucrl = mdp.ucrl2(mu, rows, n, 0, [0.01, 1.0], mode="clean")
    np.testing.assert_allclose(ucrl[0], mdp.ucrl2(mu, rows, n, 0, 0.01, mode="clean"), rtol=1e-6)
    # the first instances of a batch play exactly as a smaller batch (draws are instance-major)
    np.testing.assert_allclose(mdp.opsrl(mu[:3], rows[:3], n, 0, 3), samples[1][:3], rtol=1e-6)
    np.testing.assert_allclose(mdp.beb(mu[:3], rows[:3], n, 0, 0.1), both[1][:3], rtol=1e-6)


def test_planner_cuts_the_documented_gamma_sums():
    # the planner's batch-last segment ends and count sums are mdp_model's, bit for bit, and its
    # fused kernel is max(q_max, backward_induction_batch on the normalised rows)
    from adaptax.baselines import mdp_trials
    from adaptax.baselines.planning import backward_induction_batch

    rng = np.random.default_rng(3)
    grid, num, num_states, num_actions, counted = 3, 7, 4, 2, 30
    flat = np.zeros((grid, num, num_states * num_actions * num_states))
    for g in range(grid):
        for i in range(num):
            np.add.at(flat[g, i], rng.integers(0, flat.shape[-1], counted), 1.0)
    transitions = flat.reshape(grid, num, num_states, num_actions, num_states).astype(np.float32)
    segments = mdp._count_segments(transitions)
    end, m = mdp_trials._segment_ends_batch_last(transitions)
    assert m == segments.num_counted == counted
    local = segments.end - (np.arange(num) * (counted + 1))[:, None]  # ends within an instance
    np.testing.assert_array_equal(end, (local * num + np.arange(num)[:, None]).transpose(0, 2, 1))
    draws = mdp._shared_draws(5, 2, 1, (num, num_states, num_actions), counted)
    running = mdp_trials._count_running(5, 2, 1, num, counted, np.empty((counted + 1, num)))
    np.testing.assert_array_equal(running.T.reshape(-1), draws.count_running)
    scratch = np.empty(end.shape[1:])
    q_max = None
    for g in range(grid):
        count_exp = mdp_trials._count_exp_batch_last(running, end[g], scratch)
        np.testing.assert_array_equal(np.asarray(count_exp), mdp._count_exp(draws, segments, g))
        mean = rng.normal(size=(num_states, num_actions, num)).astype(np.float32)
        scale = rng.uniform(0.2, 1.0, (num_states, num_actions, num)).astype(np.float32)
        q = mdp_trials._plan_sample(
            mean, scale, draws.reward_noise, draws.prior_exp, count_exp, q_max, H
        )
        gammas = (np.asarray(draws.prior_exp) + np.asarray(count_exp)).reshape(
            num_states, num_actions, num_states, num
        )
        reward = mean + scale * np.asarray(draws.reward_noise)
        alone = np.asarray(
            backward_induction_batch(reward, gammas / gammas.sum(axis=2, keepdims=True), H)
        )
        expected = alone if q_max is None else np.maximum(np.asarray(q_max), alone)
        np.testing.assert_allclose(np.asarray(q), expected, rtol=1e-6, atol=1e-5)
        q_max = q


def test_posterior_rows_have_dirichlet_moments():
    # S = 4, A = 1; in row s = 0 the counts are c = (0, 1, 4, 20), the other rows are unvisited.
    # 4000 instances = 4000 draws. The Gamma sums of row 0 (prior's Exp(1) + count part) are
    # Gamma(1 + c): mean = variance = 1 + c; the sample mean has sd sqrt((1 + c)/4000) and the
    # sample variance sd ≈ sqrt((2k² + 6k)/4000) (excess kurtosis 6/k). Bounds: 5 sd.
    num = 4000
    transitions = np.zeros((1, num, 4, 1, 4))
    transitions[0, :, 0, 0] = [0, 1, 4, 20]
    segments = mdp._count_segments(transitions)
    assert segments.num_counted == 25
    draws = mdp._shared_draws(seed=0, episode=0, sample=0, shape=(num, 4, 1), counted=25)
    count_exp = mdp._count_exp(draws, segments, 0)  # [S·A·S', N], batch last
    gammas = (np.asarray(draws.prior_exp) + count_exp).reshape(4, 1, 4, num)  # [S, A, S', N]
    row = gammas[0, 0]  # [4 (s'), N]
    shape = 1.0 + np.array([0, 1, 4, 20])[:, None]
    assert np.all(np.abs(row.mean(1, keepdims=True) - shape) < 5 * np.sqrt(shape / num))
    sd_var = np.sqrt((2 * shape**2 + 6 * shape) / num)
    assert np.all(np.abs(row.var(1, keepdims=True) - shape) < 5 * sd_var)
    rows = row / row.sum(0)  # Dirichlet(1, 2, 5, 21): mean α / 29
    assert np.all(np.abs(rows.mean(1, keepdims=True) - shape / 29) < 0.01)
    unvisited = gammas[1, 0]  # Exp(1) each
    assert abs(unvisited.mean() - 1.0) < 5 * np.sqrt(1 / unvisited.size)


# --------------------------------------------------------------------------- values


def test_optimal_value_known():
    # one state, two actions paying 0.5 and 2: the optimal episode of H = 10 pays 20
    mu = np.array([[[0.5, 2.0]]], np.float32)
    rows = np.ones((1, 1, 2, 1), np.float32)
    np.testing.assert_allclose(optimal_value(mu, rows), [20.0], rtol=1e-6)


def test_no_agent_beats_the_optimal_planner():
    # 5 batches of 6 instances (the shape of the reference tests, so nothing recompiles)
    batches = [_instances(6, seed=10 + b) for b in range(5)]
    n = 4
    oracle = np.concatenate([n * optimal_value(mu, rows) for mu, rows in batches])
    for name, hparams, _ in AGENT_CASES:
        for mode in ("paper", "clean"):
            totals = np.concatenate(
                [
                    run_mdp_agent(name, mu, rows, n, b, mode=mode, **hparams)
                    for b, (mu, rows) in enumerate(batches)
                ]
            )
            gap = totals - oracle  # the expected total of any policy is <= the oracle's
            se = gap.std(ddof=1) / np.sqrt(len(gap))
            assert gap.mean() < 3 * se, (name, mode, gap.mean(), se)
    # and the bound is not vacuous: random play is far below it
    random_totals = np.concatenate([mdp.random(mu, rows, n, 0) for mu, rows in batches])
    assert (random_totals - oracle).mean() < -30


def test_sanity_ordering_at_n10():
    mu, rows = _instances(300, seed=2)
    random_total = mdp.random(mu, rows, 10, 0)
    # E[μ] = 1 per step: 100 per trial. sd of a trial's total ≈ 20 → se ≈ 1.2; bound ≈ 4 se
    assert abs(random_total.mean() - 100.0) < 5.0
    for agent in (mdp.psrl, mdp.greedy):
        totals = agent(mu, rows, 10, 0)
        assert totals.mean() > random_total.mean() + 20.0, agent.__name__


def test_paper_prior_helps_psrl_at_n10():
    # REFERENCE.md: the mis-specified N(0, 1) prior gives PSRL 138.1 at n = 10, the true one ≈ 133.
    # Paired on the same 300 instances and outcomes: the difference is ≈ 3.0 with se ≈ 0.8 here.
    mu, rows = _instances(300, seed=3)
    diff = mdp.psrl(mu, rows, 10, 0) - mdp.psrl(mu, rows, 10, 0, mode="clean")
    assert diff.mean() > 2.0 * diff.std(ddof=1) / np.sqrt(len(diff))


# --------------------------------------------------------------------------- API


def test_grids_are_the_authors():
    assert MDP_GRIDS["opsrl"]["num_samples"] == tuple(range(1, 21))
    np.testing.assert_allclose(MDP_GRIDS["epsilon_greedy"]["epsilon"], np.arange(1, 11) / 10)
    for name in ("beb", "ucrl2"):
        scalings = np.array(MDP_GRIDS[name]["scaling"])
        assert len(scalings) == 21
        np.testing.assert_allclose(scalings[[0, -1]], [1e-4, 1.0])
        np.testing.assert_allclose(scalings[1:] / scalings[:-1], 10**0.2, rtol=1e-9)
    assert MDP_GRIDS["psrl"] == MDP_GRIDS["greedy"] == MDP_GRIDS["random"] == {}


def test_run_mdp_grid(small):
    mu, rows = small
    values, totals = run_mdp_grid("ucrl2", mu, rows, 2, 0, grid=[0.01, 0.5])
    assert values == (0.01, 0.5) and totals.shape == (2, len(mu))
    np.testing.assert_allclose(totals[1], mdp.ucrl2(mu, rows, 2, 0, 0.5), rtol=1e-6)
    values, totals = run_mdp_grid("psrl", mu, rows, 2, 0)
    assert values == ((),) and totals.shape == (1, len(mu))
    # threads split the grid; the streams do not depend on the split, so neither do the totals
    values, one = run_mdp_grid("opsrl", mu, rows, 2, 0, grid=[3, 1, 2])
    _, two = run_mdp_grid("opsrl", mu, rows, 2, 0, grid=[3, 1, 2], workers=2)
    np.testing.assert_allclose(two, one, rtol=1e-6)
    np.testing.assert_allclose(one[1], mdp.psrl(mu, rows, 2, 0), rtol=1e-6)


@pytest.mark.parametrize("mode", ["paper", "clean"])
def test_a_sequence_of_n_equals_separate_runs(small, mode):
    """One run of the longest trial gives each shorter trial's totals exactly (every agent)."""
    mu, rows = small
    lengths = (3, 1, 4)
    for name, grids in MDP_GRIDS.items():
        grid = next(iter(grids.values()))[::7] if grids else None
        values, totals = run_mdp_grid(name, mu, rows, lengths, 1, mode, grid=grid)
        assert totals.shape == (len(lengths), len(values), len(mu))
        for row, n in enumerate(lengths):
            _, alone = run_mdp_grid(name, mu, rows, n, 1, mode, grid=grid)
            np.testing.assert_array_equal(totals[row], alone, err_msg=f"{name}, n = {n}")
    assert mdp.ucrl2(mu, rows, np.array([2, 3]), 0, [0.1, 0.2]).shape == (2, 2, len(mu))
    assert mdp.random(mu, rows, [2], 0).shape == (1, len(mu))


def test_instances_are_the_environments():
    from adaptax.envs.tabular_mdp import TabularMDP

    mu, rows = mdp.mdp_instances(3)
    task = TabularMDP().sample_task(jax.random.PRNGKey(2))
    # equal up to float32 rounding (jit fuses the sampler's arithmetic differently)
    np.testing.assert_allclose(mu[2], np.asarray(task.reward_mean), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(rows[2], np.asarray(task.transition), rtol=1e-6, atol=1e-7)


def test_bad_inputs_raise(small):
    mu, rows = small
    with pytest.raises(ValueError, match="S and A >= 1"):
        mdp.psrl(mu[:, :, :0], rows[:, :, :0], 3, 0)
    with pytest.raises(ValueError, match="S and A >= 1"):
        mdp.greedy(np.zeros((2, 0, 5)), np.zeros((2, 0, 5, 0)), 3, 0)
    with pytest.raises(ValueError, match="n \\(episodes per trial\\)"):
        mdp.psrl(mu, rows, 0, 0)
    with pytest.raises(ValueError, match="n \\(episodes per trial\\)"):
        mdp.psrl(mu, rows, (3, 0), 0)
    with pytest.raises(ValueError, match="n is an empty sequence"):
        run_mdp_grid("beb", mu, rows, (), 0)
    with pytest.raises(ValueError, match="epsilon must lie in"):
        mdp.epsilon_greedy(mu, rows, 3, 0, 1.5)
    with pytest.raises(ValueError, match="epsilon must lie in"):
        mdp.epsilon_greedy(mu, rows, 3, 0, -0.1)
    with pytest.raises(ValueError, match="grid is empty"):
        mdp.beb(mu, rows, 3, 0, [])
    with pytest.raises(ValueError, match="grid of ucrl2 is empty"):
        run_mdp_grid("ucrl2", mu, rows, 3, 0, grid=[])
    with pytest.raises(ValueError, match="workers"):
        run_mdp_grid("ucrl2", mu, rows, 3, 0, workers=0)
    with pytest.raises(ValueError, match="num_samples"):
        mdp.opsrl(mu, rows, 3, 0, 0)
    with pytest.raises(ValueError, match="num_samples must be integers"):
        mdp.opsrl(mu, rows, 3, 0, 1.5)
    with pytest.raises(ValueError, match="scaling must lie in"):
        mdp.ucrl2(mu, rows, 3, 0, -1.0)
    with pytest.raises(ValueError, match="mode"):
        mdp.psrl(mu, rows, 3, 0, mode="tabula")
    with pytest.raises(ValueError, match="unknown MDP agent"):
        run_mdp_agent("ucb1", mu, rows, 3, 0)
    with pytest.raises(ValueError, match="takes hyper-parameters"):
        run_mdp_agent("beb", mu, rows, 3, 0)
    with pytest.raises(ValueError, match="takes hyper-parameters"):
        run_mdp_agent("psrl", mu, rows, 3, 0, scaling=0.1)
    with pytest.raises(ValueError, match="transition must have shape"):
        mdp.psrl(mu, rows[..., :-1], 3, 0)
    with pytest.raises(ValueError, match="sum to 1"):
        mdp.psrl(mu, rows * 0.5, 3, 0)
    with pytest.raises(ValueError, match="seed"):
        mdp.psrl(mu, rows, 3, -1)
    with pytest.raises(ValueError, match="horizon"):
        mdp_outcomes(2, 2, 0, 0)
