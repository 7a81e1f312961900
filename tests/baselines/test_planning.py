"""Tests for finite-horizon backward induction and extended value iteration (baselines/planning)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from adaptax.baselines.planning import (
    Plan,
    backward_induction,
    backward_induction_batch,
    extended_value_iteration,
)

# jitted once per shape (the planners themselves are also checked without jit below)
_bi = jax.jit(backward_induction, static_argnames=("horizon",))
_evi = jax.jit(extended_value_iteration, static_argnames=("horizon", "compound"))


def _random_mdp(seed: int, num_states: int = 6, num_actions: int = 3):
    rng = np.random.default_rng(seed)
    reward = rng.normal(1.0, 1.0, (num_states, num_actions))
    transition = rng.dirichlet(np.ones(num_states), (num_states, num_actions))
    return reward, transition


# --------------------------------------------------------------------------- slow references


def slow_backward_induction(reward, transition, horizon):
    """The obvious triple loop; reward is [H][S][A] (per step) in float64."""
    num_states, num_actions = len(transition), len(transition[0])
    q = np.zeros((horizon, num_states, num_actions))
    v_next = [0.0] * num_states
    for h in reversed(range(horizon)):
        v = [0.0] * num_states
        for s in range(num_states):
            for a in range(num_actions):
                total = float(reward[h][s][a])
                for s2 in range(num_states):
                    total += float(transition[s][a][s2]) * v_next[s2]
                q[h, s, a] = total
            v[s] = max(q[h, s])
        v_next = v
    return q


def _ascending_order(values):
    """States sorted by value, ties by index (a stable sort)."""
    return sorted(range(len(values)), key=lambda t: (values[t], t))


def slow_jaksch_row(p_hat, slack, v_next):
    """Jaksch et al. (2010) Fig. 2 inner loop for one (s, a), on a fresh copy of p̂."""
    order = _ascending_order(v_next)
    p = [float(x) for x in p_hat]
    best = order[-1]
    p[best] = min(1.0, p_hat[best] + slack / 2.0)
    ell = 0
    while sum(p) > 1.0 + 1e-12:
        worst = order[ell]
        others = sum(p) - p[worst]
        p[worst] = max(0.0, 1.0 - others)
        ell += 1
    return p


def slow_evi_clean(reward, transition, slack, horizon):
    num_states, num_actions = len(transition), len(transition[0])
    q = np.zeros((horizon, num_states, num_actions))
    v_next = [0.0] * num_states
    for h in reversed(range(horizon)):
        for s in range(num_states):
            for a in range(num_actions):
                p = slow_jaksch_row(transition[s][a], slack[s][a], v_next)
                q[h, s, a] = reward[s][a] + sum(p[t] * v_next[t] for t in range(num_states))
        v_next = [max(q[h, s]) for s in range(num_states)]
    return q


def slow_evi_tabularl(reward, transition, slack, horizon):
    """A transcription of TabulaRL's compute_qVals_EVI, in-place row edits included.

    `pOpt = P[s, a]` aliases the estimate, so the edits persist into the next (earlier) step,
    except when the one-hot branch rebinds pOpt to a fresh array. Stable argsort on ties.
    """
    num_states, num_actions = len(transition), len(transition[0])
    rows = {
        (s, a): np.array(transition[s][a], dtype=np.float64)
        for s in range(num_states)
        for a in range(num_actions)
    }
    q = np.zeros((horizon, num_states, num_actions))
    q_max = np.zeros(num_states)
    for i in range(horizon):
        j = horizon - i - 1
        p_ind = np.argsort(q_max, kind="stable")
        new_max = np.zeros(num_states)
        for s in range(num_states):
            for a in range(num_actions):
                p_opt = rows[s, a]
                if p_opt[p_ind[-1]] + slack[s][a] * 0.5 > 1:
                    p_opt = np.zeros(num_states)
                    p_opt[p_ind[-1]] = 1
                else:
                    p_opt[p_ind[-1]] += slack[s][a] * 0.5
                s_loop = 0
                while np.sum(p_opt) > 1 + 1e-12:
                    worst = p_ind[s_loop]
                    p_opt[worst] = max(0, 1 - np.sum(p_opt) + p_opt[worst])
                    s_loop += 1
                q[j, s, a] = reward[s][a] + np.dot(p_opt, q_max)
            new_max[s] = q[j, s].max()
        q_max = new_max
    return q


# --------------------------------------------------------------------------- backward induction


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_backward_induction_matches_triple_loop(seed):
    reward, transition = _random_mdp(seed)
    horizon = 7
    got = _bi(jnp.asarray(reward), jnp.asarray(transition), horizon)
    want = slow_backward_induction([reward] * horizon, transition, horizon)
    np.testing.assert_allclose(got.q, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got.v[:-1], want.max(-1), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got.v[-1], 0.0)


def test_backward_induction_stepwise_reward_matches_triple_loop():
    reward, transition = _random_mdp(3)
    horizon = 5
    bonus = np.arange(horizon)[::-1, None, None] * 0.3  # grows with the steps to go
    stepwise = reward[None] + bonus
    got = _bi(jnp.asarray(stepwise), jnp.asarray(transition), horizon)
    want = slow_backward_induction(stepwise, transition, horizon)
    np.testing.assert_allclose(got.q, want, rtol=1e-5, atol=1e-5)


def test_backward_induction_known_values():
    # Two states, two actions. State 0: a0 pays 1 and stays, a1 pays 0 and moves to state 1.
    # State 1 pays 3 for either action and stays. H = 3:
    #   v_2 = (1, 3);  q_1(0) = (1 + 1, 0 + 3) = (2, 3), v_1 = (3, 6)
    #   q_0(0) = (1 + 3, 0 + 6) = (4, 6), v_0 = (6, 9).
    reward = jnp.array([[1.0, 0.0], [3.0, 3.0]])
    transition = jnp.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]])
    plan = _bi(reward, transition, horizon=3)
    np.testing.assert_allclose(plan.q[0, 0], [4.0, 6.0])
    np.testing.assert_allclose(plan.q[1, 0], [2.0, 3.0])
    np.testing.assert_allclose(plan.v[:, 0], [6.0, 3.0, 1.0, 0.0])
    np.testing.assert_allclose(plan.v[:, 1], [9.0, 6.0, 3.0, 0.0])


def test_backward_induction_jit_vmap_agree():
    mdps = [_random_mdp(s) for s in range(4)]
    rewards = jnp.asarray(np.stack([m[0] for m in mdps]), jnp.float32)
    transitions = jnp.asarray(np.stack([m[1] for m in mdps]), jnp.float32)
    batched = jax.jit(jax.vmap(lambda r, p: backward_induction(r, p, 6).q))(rewards, transitions)
    for i in range(4):  # not jitted, not batched
        single = backward_induction(rewards[i], transitions[i], 6).q
        np.testing.assert_allclose(batched[i], single, rtol=1e-6, atol=1e-6)


def test_backward_induction_batch_matches_single():
    mdps = [_random_mdp(s) for s in range(11)]
    rewards = np.stack([m[0] for m in mdps])  # [B, S, A]
    transitions = np.stack([m[1] for m in mdps])  # [B, S, A, S']
    batch_last_p = jnp.asarray(np.moveaxis(transitions, 0, -1), jnp.float32)  # [S, A, S', B]
    stepwise = rewards[:, None] + np.arange(5)[None, ::-1, None, None] * 0.1  # [B, H, S, A]
    for reward in (rewards, stepwise):
        batch_last_r = jnp.asarray(np.moveaxis(reward, 0, -1), jnp.float32)
        got = jax.jit(lambda r, p: backward_induction_batch(r, p, 5))(
            batch_last_r, batch_last_p
        )
        for b in (0, 5, 10):
            want = _bi(jnp.asarray(reward[b]), jnp.asarray(transitions[b]), 5).q
            np.testing.assert_allclose(got[..., b], want, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- extended VI


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("slack_scale", [0.05, 0.6, 3.0])
def test_evi_clean_matches_jaksch_inner_loop(seed, slack_scale):
    reward, transition = _random_mdp(seed)
    slack = np.random.default_rng(100 + seed).uniform(0, slack_scale, reward.shape)
    got = _evi(jnp.asarray(reward), jnp.asarray(transition), jnp.asarray(slack), 6)
    want = slow_evi_clean(reward, transition, slack, 6)
    np.testing.assert_allclose(got.q, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("slack_scale", [0.05, 0.6, 3.0])
def test_evi_compound_matches_tabularl_transcription(seed, slack_scale):
    reward, transition = _random_mdp(seed)
    slack = np.random.default_rng(100 + seed).uniform(0, slack_scale, reward.shape)
    got = _evi(jnp.asarray(reward), jnp.asarray(transition), jnp.asarray(slack), 6, compound=True)
    want = slow_evi_tabularl(reward, transition, slack, 6)
    np.testing.assert_allclose(got.q, want, rtol=1e-5, atol=1e-5)


def test_evi_compound_differs_from_clean_where_it_should():
    reward, transition = _random_mdp(7)
    slack = np.full(reward.shape, 0.2)
    args = (jnp.asarray(reward), jnp.asarray(transition), jnp.asarray(slack), 6)
    clean = _evi(*args).q
    compound = _evi(*args, compound=True).q
    # the last step does not look at transitions: both are the optimistic reward
    np.testing.assert_allclose(clean[-1], reward, rtol=1e-6)
    np.testing.assert_allclose(compound[-1], reward, rtol=1e-6)
    # earlier steps start from rows already pushed towards past best states: they differ
    assert np.abs(np.asarray(compound[:-1]) - np.asarray(clean[:-1])).max() > 1e-2
    # with no slack there is nothing to compound, and both equal plain backward induction
    zero = (args[0], args[1], jnp.zeros_like(args[2]), 6)
    plain = _bi(args[0], args[1], 6).q
    np.testing.assert_allclose(_evi(*zero).q, plain, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(_evi(*zero, compound=True).q, plain, rtol=1e-6, atol=1e-6)


def test_evi_known_values():
    # Two states, one action, rows (0.5, 0.5), slack 0.4, r = (0, 1), H = 2. Last step: q = r,
    # v = (0, 1). Clean: the row becomes (0.3, 0.7), q_0 = r + 0.7 = (0.7, 1.7).
    # Compound: at the last step (values all 0, state 1 last in a stable sort) the row already
    # became (0.3, 0.7); at step 0 it becomes (0.1, 0.9): q_0 = r + 0.9 = (0.9, 1.9).
    p = jnp.array([[[0.5, 0.5]], [[0.5, 0.5]]])
    r = jnp.array([[0.0], [1.0]])
    slack = jnp.full((2, 1), 0.4)
    np.testing.assert_allclose(_evi(r, p, slack, 2).q[0, :, 0], [0.7, 1.7], rtol=1e-6)
    np.testing.assert_allclose(
        _evi(r, p, slack, 2, compound=True).q[0, :, 0], [0.9, 1.9], rtol=1e-6
    )
    # slack/2 = 0.6 > 1 - 0.5: the row becomes one-hot on the best state, q_0 = r + 1
    big = jnp.full((2, 1), 1.2)
    np.testing.assert_allclose(_evi(r, p, big, 2).q[0, :, 0], [1.0, 2.0], rtol=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_evi_is_optimistic(seed):
    # p̃ maximises p·v over a set containing p̂, so by induction q_evi >= q of the estimate
    reward, transition = _random_mdp(seed, num_states=5, num_actions=2)
    slack = np.random.default_rng(seed).uniform(0, 1.0, reward.shape)
    args = (jnp.asarray(reward), jnp.asarray(transition))
    evi = _evi(*args, jnp.asarray(slack), 8).q
    plain = _bi(*args, 8).q
    assert np.all(np.asarray(evi) >= np.asarray(plain) - 1e-5)


def test_evi_jit_vmap_agree():
    mdps = [_random_mdp(s) for s in range(3)]
    rewards = jnp.asarray(np.stack([m[0] for m in mdps]), jnp.float32)
    transitions = jnp.asarray(np.stack([m[1] for m in mdps]), jnp.float32)
    slack = jnp.full(rewards.shape, 0.3)
    for compound in (False, True):
        fn = jax.jit(
            jax.vmap(lambda r, p, s, c=compound: extended_value_iteration(r, p, s, 5, compound=c).q)
        )
        batched = fn(rewards, transitions, slack)
        # not jitted, not batched (one instance: eager runs are slow)
        single = extended_value_iteration(
            rewards[1], transitions[1], slack[1], 5, compound=compound
        ).q
        np.testing.assert_allclose(batched[1], single, rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------- bad inputs


def test_bad_inputs_raise():
    reward, transition = (jnp.asarray(x) for x in _random_mdp(0))
    with pytest.raises(ValueError, match="horizon"):
        backward_induction(reward, transition, 0)
    with pytest.raises(ValueError, match="horizon"):
        backward_induction(reward, transition)  # [S, A] reward needs a horizon
    with pytest.raises(ValueError, match="transition must have shape"):
        backward_induction(reward, transition[..., :-1], 3)
    with pytest.raises(ValueError, match="reward must have shape"):
        backward_induction(reward[:, :-1], transition, 3)
    with pytest.raises(ValueError, match="steps"):
        backward_induction(jnp.stack([reward] * 4), transition, 3)
    with pytest.raises(ValueError, match="at least one state"):
        backward_induction(jnp.zeros((0, 0)), jnp.zeros((0, 0, 0)), 3)
    with pytest.raises(ValueError, match="transition_slack"):
        extended_value_iteration(reward, transition, jnp.zeros(3), 3)
    with pytest.raises(ValueError, match="horizon"):
        extended_value_iteration(reward, transition, jnp.zeros(reward.shape), 0)
    assert isinstance(backward_induction(reward, transition, 2), Plan)
    batch_p = transition[..., None]  # [S, A, S', 1]
    with pytest.raises(ValueError, match="transition must have shape"):
        backward_induction_batch(reward[..., None], transition, 3)
    with pytest.raises(ValueError, match="reward must have shape"):
        backward_induction_batch(reward, batch_p, 3)
    with pytest.raises(ValueError, match="horizon"):
        backward_induction_batch(reward[..., None], batch_p, 0)
