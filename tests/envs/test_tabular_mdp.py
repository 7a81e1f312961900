"""Tests of the tabular MDP: known values, a slow reference, reward/transition statistics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from adaptax.envs import MDPParams, MDPState, TabularMDP, instances


def _cyclic_task(num_states, num_actions):
    """Deterministic task: action a moves s to (s + a + 1) mod S; μ(s, a) = 10 s + a."""
    s, a = np.meshgrid(np.arange(num_states), np.arange(num_actions), indexing="ij")
    transition = np.eye(num_states, dtype=np.float32)[(s + a + 1) % num_states]
    return MDPParams(
        reward_mean=jnp.asarray(10.0 * s + a, jnp.float32), transition=jnp.asarray(transition)
    )


def test_known_values_on_a_deterministic_mdp():
    env = TabularMDP(num_states=4, num_actions=3, horizon=3)
    task = _cyclic_task(4, 3)
    obs, state = env.reset(jax.random.PRNGKey(0), task)
    np.testing.assert_array_equal(obs, [1, 0, 0, 0])  # start in state 0
    # s=0, a=2 -> s'=(0+2+1)%4=3, reward mean 10*0+2=2
    obs, state, reward, done, _ = env.step(jax.random.PRNGKey(1), state, 2, task)
    np.testing.assert_array_equal(obs, [0, 0, 0, 1])
    assert obs.dtype == jnp.float32 and not bool(done) and int(state.time) == 1
    assert abs(float(reward) - 2.0) < 5.0  # N(2, 1): a 5 sd band
    # s=3, a=0 -> s'=0, mean 30; s=0, a=1 -> s'=2 but the 3rd step ends the episode
    obs, state, reward, done, _ = env.step(jax.random.PRNGKey(2), state, 0, task)
    np.testing.assert_array_equal(obs, [1, 0, 0, 0])
    assert abs(float(reward) - 30.0) < 5.0 and not bool(done)
    obs, state, reward, done, _ = env.step(jax.random.PRNGKey(3), state, 1, task)
    assert bool(done) and abs(float(reward) - 1.0) < 5.0
    # auto-reset: back to state 0 at time 0 on the same task
    np.testing.assert_array_equal(obs, [1, 0, 0, 0])
    assert int(state.state) == 0 and int(state.time) == 0


def test_rollout_agrees_with_slow_python_reference():
    """A scanned rollout on the deterministic MDP matches a plain Python loop over the rules."""
    num_states, num_actions, horizon, steps = 5, 3, 4, 11
    env = TabularMDP(num_states, num_actions, horizon)
    task = _cyclic_task(num_states, num_actions)
    actions = jax.random.randint(jax.random.PRNGKey(7), (steps,), 0, num_actions)
    _, state0 = env.reset(jax.random.PRNGKey(0), task)

    def body(state, inputs):
        key, action = inputs
        obs, state, reward, done, _ = env.step(key, state, action, task)
        return state, (obs, reward, done)

    keys = jax.random.split(jax.random.PRNGKey(8), steps)
    _, (obs, rewards, dones) = jax.lax.scan(body, state0, (keys, actions))

    # slow reference: s' = (s + a + 1) mod S, reset to 0 after `horizon` steps
    s, t = 0, 0
    expected_obs, expected_done, expected_mean = [], [], []
    for a in np.asarray(actions):
        expected_mean.append(10.0 * s + a)
        s, t = (s + a + 1) % num_states, t + 1
        done = t == horizon
        if done:
            s, t = 0, 0
        expected_obs.append(np.eye(num_states)[s])
        expected_done.append(done)
    np.testing.assert_array_equal(obs, np.array(expected_obs))
    np.testing.assert_array_equal(dones, np.array(expected_done))
    # reward = mean + N(0, 1) noise: every residual within 5 sd
    assert np.max(np.abs(np.asarray(rewards) - np.array(expected_mean))) < 5.0


def _sample_from_every_pair(env, task, n, seed):
    """n steps from every (s, a) at time 0: rewards [S, A, n] and next states [S, A, n]."""
    S, A = env.num_states, env.num_actions

    def one(key, s, a):
        state = MDPState(time=jnp.array(0, jnp.int32), state=s)
        _, next_state, reward, _, _ = env.step(key, state, a, task)
        return reward, next_state.state

    s = jnp.repeat(jnp.arange(S), A * n)
    a = jnp.tile(jnp.repeat(jnp.arange(A), n), S)
    keys = jax.random.split(jax.random.PRNGKey(seed), S * A * n)
    rewards, next_states = jax.jit(jax.vmap(one))(keys, s, a)
    return rewards.reshape(S, A, n), next_states.reshape(S, A, n)


def test_reward_and_transition_statistics_match_the_task():
    env = TabularMDP(num_states=4, num_actions=3, horizon=10)
    task = env.sample_task(jax.random.PRNGKey(11))
    n = 4000
    rewards, next_states = _sample_from_every_pair(env, task, n, seed=12)
    # reward mean per (s, a): sd of the mean of n N(μ, 1) draws is 1/sqrt(4000) ≈ 0.016; 5 sd = 0.08
    np.testing.assert_allclose(rewards.mean(axis=-1), task.reward_mean, atol=0.08)
    # reward variance 1: the sample variance of n normals has sd sqrt(2/n) ≈ 0.022; 5 sd = 0.11
    np.testing.assert_allclose(rewards.var(axis=-1), 1.0, atol=0.11)
    # next-state frequencies: each cell is a binomial proportion with sd sqrt(p(1-p)/n) <= 0.008;
    # allow 5 sd per cell (plus float slack)
    freq = jax.nn.one_hot(next_states, 4).mean(axis=2)
    p = np.asarray(task.transition)
    tol = 5 * np.sqrt(p * (1 - p) / n) + 1e-3
    assert np.all(np.abs(np.asarray(freq) - p) <= tol)


def test_task_distribution_priors():
    S, A = 4, 3
    env = TabularMDP(num_states=S, num_actions=A)
    tasks = instances(env, 1000)
    mu = np.asarray(tasks.reward_mean).ravel()  # 12,000 draws of N(1, 1)
    assert stats.kstest(mu, "norm", args=(1.0, 1.0)).pvalue > 1e-3
    # mean 1 ± 5/sqrt(12000) ≈ 0.046; variance 1 ± 5 sqrt(2/12000) ≈ 0.065
    np.testing.assert_allclose(mu.mean(), 1.0, atol=0.046)
    np.testing.assert_allclose(mu.var(), 1.0, atol=0.065)

    p = np.asarray(tasks.transition)  # [1000, S, A, S]
    assert p.shape == (1000, S, A, S) and np.all(p >= 0)
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-5)
    # flat Dirichlet(1, ..., 1) on S states: each entry is Beta(1, S-1), mean 1/S = 0.25,
    # variance (S-1)/(S²(S+1)) = 3/80 = 0.0375. 48,000 entries: mean sd ≈ 0.0009.
    entries = p.ravel()
    np.testing.assert_allclose(entries.mean(), 1 / S, atol=1e-5)  # rows sum to 1 exactly
    np.testing.assert_allclose(entries.var(), (S - 1) / (S**2 * (S + 1)), rtol=0.05)
    # the full marginal: one entry per row (entries in a row are dependent) against Beta(1, S-1)
    assert stats.kstest(p[..., 0].ravel(), "beta", args=(1, S - 1)).pvalue > 1e-3
    # rows are independent draws, not one row repeated
    assert np.std(p[:, 0, 0, 0]) > 0.1 and not np.allclose(p[0, 0, 0], p[0, 1, 0])


def test_jit_and_no_jit_agree():
    env = TabularMDP(num_states=3, num_actions=2, horizon=2)
    task = env.sample_task(jax.random.PRNGKey(0))
    _, state = env.reset(jax.random.PRNGKey(1), task)
    key = jax.random.PRNGKey(2)
    jitted = env.step(key, state, 1, task)
    with jax.disable_jit():
        eager = env.step(key, state, 1, task)
    for a, b in zip(jax.tree.leaves(jitted), jax.tree.leaves(eager), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_states": 0}, "num_states"),
        ({"num_actions": 0}, "num_actions"),
        ({"horizon": 0}, "horizon"),
        ({"horizon": True}, "horizon"),
    ],
)
def test_invalid_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TabularMDP(**kwargs)
