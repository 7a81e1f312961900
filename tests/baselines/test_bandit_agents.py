"""Tests of adaptax.baselines.bandits: slow single-instance references, known values, statistics.

The references below are written from the documented contract only: the rewards of instance i are
1[U_i < p_i] with U = the first rows of stream 0 of the seed, drawn instance-major; an agent's own
randomness comes from stream s of the seed (random 1, ε-greedy 2, TS 3, OTS 4 with sub-streams
per sample and chunk), drawn as documented. They loop over steps and arms in plain Python and
must give exactly the same totals.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from adaptax.baselines import bandits as B
from adaptax.baselines import gittins as G
from adaptax.baselines import ots


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ADAPTAX_CACHE", str(tmp_path / "cache"))


def stream(seed: int, number: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, number])))


def instance_rewards(probs: np.ndarray, i: int, n: int, seed: int) -> list[list[bool]]:
    """r[t][j] of instance i: U is drawn instance-major, so instance i is row i of (i+1, n, k)."""
    k = probs.shape[1]
    u = stream(seed, 0).random((i + 1, n, k))[i]
    return [[bool(u[t, j] < probs[i, j]) for j in range(k)] for t in range(n)]


def first_argmax(values) -> int:
    best = 0
    for j in range(1, len(values)):
        if values[j] > values[best]:
            best = j
    return best


def play(rewards: list[list[bool]], choose) -> int:
    """The loop every reference shares: choose(t, a, b) -> arm; Beta(1, 1) pseudo-counts."""
    k = len(rewards[0])
    a, b, total = [1] * k, [1] * k, 0
    for t, row in enumerate(rewards):
        j = choose(t, a, b)
        if row[j]:
            a[j] += 1
            total += 1
        else:
            b[j] += 1
    return total


# ----------------------------------------------------------------------------- references


def ref_random(probs, i, n, seed, num):
    k = probs.shape[1]
    arms = stream(seed, 1).integers(0, k, size=(num, n))[i]
    r = instance_rewards(probs, i, n, seed)
    return sum(r[t][arms[t]] for t in range(n))


def ref_greedy(probs, i, n, seed):
    def choose(t, a, b):
        return first_argmax([a[j] / (a[j] + b[j]) for j in range(len(a))])

    return play(instance_rewards(probs, i, n, seed), choose)


def ref_epsilon_greedy(probs, i, n, seed, num, eps):
    k = probs.shape[1]
    rng = stream(seed, 2)
    coins = rng.random((num, n))[i]  # all coins first,
    arms = rng.integers(0, k, size=(num, n))[i]  # then all random arms

    def choose(t, a, b):
        if coins[t] < eps:
            return int(arms[t])
        return first_argmax([a[j] / (a[j] + b[j]) for j in range(k)])

    return play(instance_rewards(probs, i, n, seed), choose)


def ref_ucb1(probs, i, n, seed, c):
    def choose(t, a, b):
        if t == 0:
            return 0
        return first_argmax(
            [a[j] / (a[j] + b[j]) + c * math.sqrt(2 * math.log(t) / (a[j] + b[j]))
             for j in range(len(a))]
        )

    return play(instance_rewards(probs, i, n, seed), choose)


def ref_thompson(probs, i, n, seed):
    """TS on instance i alone (the agent run with N = 1): per step all G_a then all G_b."""
    k = probs.shape[1]
    rng = stream(seed, 3)

    def choose(t, a, b):
        g_a = rng.standard_gamma(np.array(a, float), size=(1, k))[0]
        g_b = rng.standard_gamma(np.array(b, float), size=(1, k))[0]
        return first_argmax([g_a[j] / (g_a[j] + g_b[j]) for j in range(k)])

    return play(instance_rewards(probs, i, n, seed), choose)


def ref_optimistic_thompson(probs, i, n, seed, num_samples, chunk=250):
    """The authors' OTS on instance i of len(probs): S joint draws, keep the one of highest density
    (scipy's full Beta log-density, as in their script), act greedily on it.

    Draws as documented in adaptax.baselines.ots: instance i is row i % chunk of chunk i // chunk;
    sample s of step t is row i % chunk of a standard_exponential((chunk_len, 2k + t)) array from
    SeedSequence([seed, 4, s, i // chunk]); arm 0 takes its a_0 values (G_a), then b_0 (G_b), then
    arm 1, and so on. G = a sum of integer-many Exp(1) is Gamma, so θ = G_a/(G_a+G_b) is Beta(a, b).
    """
    num, k = probs.shape
    c, row = divmod(i, chunk)
    chunk_len = min(chunk, num - c * chunk)
    rngs = [np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 4, s, c])))
            for s in range(num_samples)]

    def choose(t, a, b):
        best_theta, best_logp = None, None
        for rng in rngs:
            block = list(rng.standard_exponential((chunk_len, 2 * k + t))[row])
            theta = []
            for j in range(k):
                g_a = sum(block[: a[j]])
                g_b = sum(block[a[j] : a[j] + b[j]])
                block = block[a[j] + b[j] :]
                theta.append(g_a / (g_a + g_b))
            assert not block  # the counts use up the block exactly
            logp = sum(scipy.stats.beta.logpdf(theta[j], a[j], b[j]) for j in range(k))
            if best_logp is None or logp > best_logp:
                best_theta, best_logp = theta, logp
        return first_argmax(best_theta)

    return play(instance_rewards(probs, i, n, seed), choose)


def ref_gittins_approx(probs, i, n, seed):
    def index(a, b):  # μ + μ(1−μ)/(m·sqrt((2·0 + 1/m)·μ(1−μ)) + μ − ½), γ = 1
        m = a + b
        mu = a / m
        return mu + mu * (1 - mu) / (m * math.sqrt((1 / m) * mu * (1 - mu)) + mu - 0.5)

    def choose(t, a, b):
        return first_argmax([index(a[j], b[j]) for j in range(len(a))])

    return play(instance_rewards(probs, i, n, seed), choose)


def ref_gittins_table(probs, i, n, seed, nu, shift):
    """Reads the table at (a + shift, b + shift): shift 1 is the authors' lookup."""

    def choose(t, a, b):
        return first_argmax([nu[a[j] + shift][b[j] + shift] for j in range(len(a))])

    return play(instance_rewards(probs, i, n, seed), choose)


def ref_gittins_horizon(probs, i, n, seed, table):
    def choose(t, a, b):
        h = n - t
        return first_argmax(
            [float(G.finite_horizon_index(table, h, np.array(a[j]), np.array(b[j])))
             for j in range(len(a))]
        )

    return play(instance_rewards(probs, i, n, seed), choose)


# ----------------------------------------------------------------------------- agreement

NUM, K, N_PULLS = 6, 4, 20
SEEDS = (0, 1, 7)


def _probs(seed: int, num: int = NUM, k: int = K) -> np.ndarray:
    return np.random.default_rng(100 + seed).uniform(size=(num, k))


@pytest.mark.parametrize("seed", SEEDS)
def test_outcomes_are_the_documented_uniforms(seed):
    probs = _probs(seed)
    out = B.bandit_outcomes(probs, N_PULLS, seed, chunk=4)  # chunked draws equal one draw
    u = B.bandit_uniforms(NUM, N_PULLS, K, seed)
    np.testing.assert_array_equal(out, u < probs[:, None, :])
    for i in range(NUM):
        np.testing.assert_array_equal(out[i], instance_rewards(probs, i, N_PULLS, seed))


@pytest.mark.parametrize("seed", SEEDS)
def test_deterministic_agents_match_references(seed):
    probs = _probs(seed)
    out = B.bandit_outcomes(probs, N_PULLS, seed)
    greedy = B.greedy(out)
    ucb = {c: B.ucb1(out, c) for c in (0.0, 0.2, 1.0)}
    approx = B.gittins(out, "approx")
    for i in range(NUM):
        assert greedy[i] == ref_greedy(probs, i, N_PULLS, seed)
        for c, totals in ucb.items():
            assert totals[i] == ref_ucb1(probs, i, N_PULLS, seed, c), c
        assert approx[i] == ref_gittins_approx(probs, i, N_PULLS, seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_and_epsilon_greedy_match_references(seed):
    probs = _probs(seed)
    out = B.bandit_outcomes(probs, N_PULLS, seed)
    rand = B.random(out, seed)
    eps = {e: B.epsilon_greedy(out, seed, e) for e in (0.0, 0.3, 1.0)}
    for i in range(NUM):
        assert rand[i] == ref_random(probs, i, N_PULLS, seed, NUM)
        for e, totals in eps.items():
            assert totals[i] == ref_epsilon_greedy(probs, i, N_PULLS, seed, NUM, e), e


@pytest.mark.parametrize("seed", SEEDS)
def test_thompson_agents_match_references(seed):
    """TS and OTS draw for all instances at once, so each instance is run alone (N = 1)."""
    probs = _probs(seed, num=3)
    for i in range(3):
        out = B.bandit_outcomes(probs[i : i + 1], N_PULLS, seed)
        np.testing.assert_array_equal(out[0], instance_rewards(probs[i : i + 1], 0, N_PULLS, seed))
        single = probs[i : i + 1]
        assert B.thompson(out, seed)[0] == ref_thompson(single, 0, N_PULLS, seed)
        for s in (1, 4):
            got = B.optimistic_thompson(out, seed, s)[0]
            assert got == ref_optimistic_thompson(single, 0, N_PULLS, seed, s), s


@pytest.mark.parametrize("seed", SEEDS)
def test_optimistic_thompson_grid_matches_reference_and_single_runs(seed):
    """One pass over a grid (unsorted, any workers, chunks of 4 instances) gives every instance
    the reference's total, and the same totals as one call per grid point."""
    probs = _probs(seed, num=10)
    out = B.bandit_outcomes(probs, N_PULLS, seed)
    grid = [3, 1, 6]
    totals = ots.optimistic_thompson_grid(out, seed, grid, workers=2, chunk=4)
    assert totals.shape == (3, 10)
    for g, s in enumerate(grid):
        for i in (0, 5, 9):  # first chunk, middle chunk, last (short) chunk
            assert totals[g, i] == ref_optimistic_thompson(probs, i, N_PULLS, seed, s, chunk=4)
        alone = ots.optimistic_thompson_grid(out, seed, [s], chunk=4)[0]
        np.testing.assert_array_equal(totals[g], alone)
    np.testing.assert_array_equal(ots.optimistic_thompson_grid(out, seed, grid, chunk=4), totals)


def test_run_bandit_grid_equals_one_run_per_point():
    probs = _probs(3, num=30)
    out = B.bandit_outcomes(probs, N_PULLS, 3)
    for name, grid in (("optimistic_thompson", [{"num_samples": s} for s in (2, 1, 4)]),
                       ("ucb1", [{"c": 0.0}, {"c": 0.3}])):
        got = B.run_bandit_grid(name, probs, N_PULLS, 3, grid=grid, outcomes=out, workers=2)
        for h, totals in zip(grid, got, strict=True):
            np.testing.assert_array_equal(totals, B.run_bandit_agent(name, probs, N_PULLS, 3, **h))
    with pytest.raises(ValueError, match="num_samples"):
        B.run_bandit_grid("optimistic_thompson", probs, N_PULLS, 3, grid=[{"num_samples": 0}])
    with pytest.raises(ValueError, match="empty"):
        B.run_bandit_grid("ucb1", probs, N_PULLS, 3, grid=[])


@pytest.mark.parametrize("seed", SEEDS)
def test_gittins_tables_match_references(seed):
    probs = _probs(seed)
    out = B.bandit_outcomes(probs, N_PULLS, seed)
    nu = G.calibration_table(0.99, max_pulls=50, grid_size=401)
    paper = B.gittins(out, "table", gamma=0.99, lookup="paper", max_pulls=50, grid_size=401)
    correct = B.gittins(out, "table", gamma=0.99, lookup="correct", max_pulls=50, grid_size=401)
    horizon = B.gittins(out, "horizon")
    table = G.finite_horizon_table(N_PULLS)
    for i in range(NUM):
        assert paper[i] == ref_gittins_table(probs, i, N_PULLS, seed, nu, shift=1)
        assert correct[i] == ref_gittins_table(probs, i, N_PULLS, seed, nu, shift=0)
        assert horizon[i] == ref_gittins_horizon(probs, i, N_PULLS, seed, table)


def test_smallest_table_suffices():
    # Arm 0 always wins, so it is pulled every time: the last read (t = 4 of n = 5) is at (5, 1),
    # a + b = 6, or (6, 2) = 8 with the shifted lookup; M = 6 (8) suffices, and a NaN read raises.
    out = B.bandit_outcomes(np.array([[1.0, 0.0, 0.0]]), 5, 0)
    assert B.gittins(out, "table", gamma=0.9, max_pulls=6).tolist() == [5]
    assert B.gittins(out, "table", gamma=0.9, lookup="paper", max_pulls=8).tolist() == [5]


def test_quirky_lookup_changes_play():
    """Reading ν(a+1, b+1) instead of ν(a, b) is not a relabelling: some trials differ."""
    probs = np.random.default_rng(5).uniform(size=(200, 5))
    out = B.bandit_outcomes(probs, 30, seed=0)
    kw = dict(gamma=0.9999, max_pulls=40, grid_size=301)
    paper = B.gittins(out, "table", lookup="paper", **kw)
    correct = B.gittins(out, "table", lookup="correct", **kw)
    assert np.any(paper != correct)


# ----------------------------------------------------------------------------- known values


def test_greedy_known_value():
    # arm 0 never pays, arm 1 always: t=0 ties -> arm 0 fails (1/3 < 1/2), then arm 1 nine times.
    out = B.bandit_outcomes(np.array([[0.0, 1.0]]), n=10, seed=0)
    assert B.greedy(out).tolist() == [9]


def test_ucb1_known_value():
    # probs (1, 0), c = 1. t=0: arm 0 (rule), wins: (2,1). t=1: ln 1 = 0, greedy: 2/3 > 1/2 ->
    # arm 0, wins: (3,1). t=2: arm 0: 3/4 + sqrt(2 ln 2/4) = 0.75 + 0.589 = 1.339; arm 1: 1/2 +
    # sqrt(2 ln 2/2) = 0.5 + 0.833 = 1.333 -> arm 0 wins: (4,1). t=3: arm 0: 4/5 + sqrt(2 ln 3/5)
    # = 0.8 + 0.663 = 1.463; arm 1: 0.5 + sqrt(ln 3) = 0.5 + 1.048 = 1.548 -> arm 1, fails. Total 3.
    out = B.bandit_outcomes(np.array([[1.0, 0.0]]), n=4, seed=0)
    assert B.ucb1(out, 1.0).tolist() == [3]
    assert B.greedy(out).tolist() == [4]


def test_limits_coincide_exactly():
    probs = np.random.default_rng(0).uniform(size=(300, 5))
    out = B.bandit_outcomes(probs, 40, seed=2)
    greedy = B.greedy(out)
    np.testing.assert_array_equal(B.ucb1(out, 0.0), greedy)  # c = 0: the bonus vanishes
    np.testing.assert_array_equal(B.epsilon_greedy(out, 2, 0.0), greedy)  # ε = 0: never explores


def test_prefix_property_of_instances():
    """Instance i's rewards and the up-front random draws do not depend on how many follow."""
    probs = np.random.default_rng(1).uniform(size=(50, 3))
    full = B.bandit_outcomes(probs, 25, seed=4)
    part = B.bandit_outcomes(probs[:20], 25, seed=4)
    np.testing.assert_array_equal(full[:20], part)
    np.testing.assert_array_equal(B.random(full, 4)[:20], B.random(part, 4))
    np.testing.assert_array_equal(B.greedy(full)[:20], B.greedy(part))


def test_log_density_of_a_zero_gamma_draw():
    # Two arms cut from running sums 0, 0, 1, 3, 4: Beta(1,1) with G_a = 0 exactly (θ = 0; weight
    # a − 1 = 0, so 0·ln 0 = 0), and Beta(2,1) with G_a = 2, G_b = 1: θ = 2/3,
    # ln p = ln 2 + ln θ = ln(4/3); constants dropped, so the sum is ln θ = ln(2/3).
    counts = np.array([[[[1, 1], [2, 1]]]])  # [G, N, k, (a, b)]
    at = np.array([[[0.0, 0.0, 1.0, 3.0, 4.0]]])
    got = ots._DensityWeights.of(counts).log_density(at, slice(None))
    # the logs and their sum are float32 (ots module docstring): exact to float32 rounding
    assert got.dtype == np.float32 and got.shape == (1, 1)
    assert got[0, 0] == pytest.approx(math.log(2 / 3), rel=1e-6)


# ----------------------------------------------------------------------------- statistics


def test_outcome_frequencies():
    """p = 0.3 on 400 × 50 × 3 draws: the frequency's sd is sqrt(.21/60000) = 0.0019; allow 4 sd."""
    out = B.bandit_outcomes(np.full((400, 3), 0.3), 50, seed=9)
    assert abs(out.mean() - 0.3) < 4 * math.sqrt(0.21 / out.size)
    assert B.bandit_outcomes(np.zeros((2, 3)), 5, 0).sum() == 0
    assert B.bandit_outcomes(np.ones((2, 3)), 5, 0).all()


def test_thompson_expected_reward_k2_n2():
    """Under the prior p ~ U[0,1]², TS's expected total over n = 2 pulls is 37/36.

    Pull 1: 1/2. Pull 2 after a win on arm j (Beta(2,1) vs U): TS repeats j w.p. E[θ_j] = 2/3,
    earning 2/3, else 1/2: 2/3·2/3 + 1/3·1/2 = 11/18. After a loss (Beta(1,2)): repeats w.p. 1/3:
    1/3·1/3 + 2/3·1/2 = 8/18. Total 1/2 + (11/18 + 8/18)/2 = 37/36 = 1.0278 (greedy: 13/12 =
    1.0833, random: 1). 40000 trials: sd(total) <= 1, se <= 0.005; allow 0.016 (3.2 se).
    OTS with one sample is TS.
    """
    probs = np.random.default_rng(11).uniform(size=(40000, 2))
    out = B.bandit_outcomes(probs, 2, seed=5)
    assert abs(B.thompson(out, 5).mean() - 37 / 36) < 0.016
    assert abs(B.optimistic_thompson(out, 5, 1).mean() - 37 / 36) < 0.016
    assert abs(B.greedy(out).mean() - 13 / 12) < 0.016


def test_random_agent_is_unbiased():
    """E[total | p] = n · mean_j p_j; the mean gap over 1000 instances is ~0 within 4 se."""
    probs = np.random.default_rng(12).uniform(size=(1000, 5))
    out = B.bandit_outcomes(probs, 30, seed=6)
    gap = B.random(out, 6) - 30 * probs.mean(axis=1)
    assert abs(gap.mean()) < 4 * gap.std(ddof=1) / math.sqrt(len(gap))


def test_sanity_ordering_n100_k5():
    """200 instances, n = 100, k = 5: random scores ≈ 50; Gittins, UCB1, OTS and the finite-horizon
    index ≈ 78 (the paper's 78.3 / 78.0 / 77.9). Each mean has se ≈ 1.5, so a margin of 15 is
    > 10 se while the expected gap is ≈ 28."""
    probs = np.random.default_rng(13).uniform(size=(200, 5))
    out = B.bandit_outcomes(probs, 100, seed=0)
    rand = B.random(out, 0).mean()
    assert abs(rand - 50) < 5
    for totals in (B.gittins(out, "approx"), B.ucb1(out, 0.2), B.gittins(out, "horizon"),
                   B.optimistic_thompson(out, 0, 5), B.thompson(out, 0)):
        assert totals.mean() > rand + 15


# ----------------------------------------------------------------------------- dispatch


def test_grids_are_the_authors():
    assert [g["eps"] for g in B.bandit_grid("epsilon_greedy")] == [i / 10 for i in range(11)]
    assert [g["c"] for g in B.bandit_grid("ucb1")] == [i / 10 for i in range(11)]
    assert [g["num_samples"] for g in B.bandit_grid("optimistic_thompson")] == list(range(1, 21))
    assert B.bandit_grid("gittins", "paper") == [{"variant": "approx"}, {"variant": "table"}]
    assert B.bandit_grid("gittins", "clean") == [{"variant": "horizon"}]
    assert B.bandit_grid("greedy") == [{}]
    assert set(B.BANDIT_GRIDS) == set(B.BANDIT_AGENTS)


def test_dispatcher_runs_each_agent_as_its_function():
    probs = np.random.default_rng(14).uniform(size=(30, 3))
    out = B.bandit_outcomes(probs, 15, seed=3)
    expect = {
        ("random", ()): B.random(out, 3),
        ("greedy", ()): B.greedy(out),
        ("epsilon_greedy", (("eps", 0.2),)): B.epsilon_greedy(out, 3, 0.2),
        ("ucb1", (("c", 0.1),)): B.ucb1(out, 0.1),
        ("thompson", ()): B.thompson(out, 3),
        ("optimistic_thompson", (("num_samples", 3),)): B.optimistic_thompson(out, 3, 3),
        ("gittins", (("variant", "approx"),)): B.gittins(out, "approx"),
    }
    for (name, hp), want in expect.items():
        got = B.run_bandit_agent(name, probs, 15, 3, **dict(hp))
        np.testing.assert_array_equal(got, want, err_msg=name)
        got = B.run_bandit_agent(name, probs, 15, 3, outcomes=out, **dict(hp))
        np.testing.assert_array_equal(got, want, err_msg=name)
    np.testing.assert_array_equal(
        B.run_bandit_agent("gittins", probs, 15, 3, mode="clean"), B.gittins(out, "horizon")
    )


def test_paper_table_ignores_the_asked_gamma_and_shifts_the_lookup(monkeypatch):
    """Paper mode: γ = 0.9999 whatever was asked, and the (a+1, b+1) lookup (small M, G here)."""
    monkeypatch.setattr(B, "PAPER_TABLE_MAX_PULLS", 60)
    monkeypatch.setattr(B, "PAPER_TABLE_GRID_SIZE", 301)
    probs = np.random.default_rng(15).uniform(size=(40, 4))
    out = B.bandit_outcomes(probs, 25, seed=1)
    want = B.gittins(out, "table", gamma=0.9999, lookup="paper", max_pulls=60, grid_size=301)
    for asked in (0.9, 0.99, 0.999, 0.9999):
        got = B.run_bandit_agent("gittins", probs, 25, 1, "paper", variant="table", gamma=asked)
        np.testing.assert_array_equal(got, want)
    clean = B.run_bandit_agent("gittins", probs, 25, 1, "clean", variant="table", gamma=0.9,
                               max_pulls=60, grid_size=301)
    np.testing.assert_array_equal(
        clean, B.gittins(out, "table", gamma=0.9, lookup="correct", max_pulls=60, grid_size=301)
    )


# ----------------------------------------------------------------------------- bad inputs

_P = np.full((2, 3), 0.5)
_OUT = B.bandit_outcomes(_P, 5, 0)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: B.bandit_outcomes(np.full((2, 1), 0.5), 5, 0), "k >= 2"),
        (lambda: B.bandit_outcomes(_P, 0, 0), "n"),
        (lambda: B.bandit_outcomes(_P, 5, -1), "seed"),
        (lambda: B.bandit_outcomes(np.full((2, 3), 1.5), 5, 0), "probabilities"),
        (lambda: B.bandit_outcomes(np.full(3, 0.5), 5, 0), "shape"),
        (lambda: B.bandit_uniforms(2, 5, 1, 0), "k >= 2"),
        (lambda: B.epsilon_greedy(_OUT, 0, 1.5), "eps"),
        (lambda: B.epsilon_greedy(_OUT, 0, -0.1), "eps"),
        (lambda: B.ucb1(_OUT, -1.0), "c must be"),
        (lambda: B.optimistic_thompson(_OUT, 0, 0), "num_samples"),
        (lambda: B.greedy(_OUT.astype(int)), "boolean"),
        (lambda: B.greedy(np.zeros((2, 5, 1), bool)), "k >= 2"),
        (lambda: B.gittins(_OUT, "exact"), "variant"),
        (lambda: B.gittins(_OUT, "table"), "gamma"),
        (lambda: B.gittins(_OUT, "table", gamma=0.9, lookup="off"), "lookup"),
        (lambda: B.gittins(_OUT, "table", gamma=0.9, max_pulls=5), "max_pulls >= 6"),
        (lambda: B.gittins(_OUT, "table", gamma=0.9, lookup="paper", max_pulls=7), ">= 8"),
        (lambda: B.run_bandit_agent("oracle", _P, 5, 0), "unknown bandit agent"),
        (lambda: B.run_bandit_agent("greedy", _P, 5, 0, mode="fast"), "mode"),
        (lambda: B.run_bandit_agent("greedy", _P, 5, 0, eps=0.1), "no hyper-parameter"),
        (lambda: B.run_bandit_agent("ucb1", _P, 5, 0), "needs c="),
        (lambda: B.run_bandit_agent("gittins", _P, 5, 0), "variant"),
        (lambda: B.run_bandit_agent("gittins", _P, 5, 0, variant="approx", gamma=0.9), "γ = 1"),
        (lambda: B.run_bandit_agent("greedy", _P, 5, 0, outcomes=_OUT[:, :4]), "shape"),
        (lambda: B.bandit_grid("oracle"), "unknown bandit agent"),
    ],
)
def test_bad_inputs_raise_one_line(call, message):
    with pytest.raises(ValueError, match=message) as info:
        call()
    assert "\n" not in str(info.value)
