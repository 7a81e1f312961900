"""Tests of the Bernoulli bandit: known values, reward statistics and the task distribution."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from adaptax.envs import BanditParams, BernoulliBandit, instances


def _pull_many(env, task, arm, n, seed):
    """n independent pulls of `arm` (each from a fresh episode), as float32 rewards."""
    _, state = env.reset(jax.random.PRNGKey(0), task)
    keys = jax.random.split(jax.random.PRNGKey(seed), n)
    step = jax.jit(jax.vmap(env.step, in_axes=(0, None, None, None)))
    return step(keys, state, arm, task)


def test_known_values_deterministic_arms():
    env = BernoulliBandit(num_arms=3)
    task = BanditParams(probs=jnp.array([0.0, 1.0, 0.0]))
    obs, state = env.reset(jax.random.PRNGKey(0), task)
    np.testing.assert_array_equal(obs, [0.0])
    for arm, expected in [(1, 1.0), (0, 0.0), (2, 0.0)]:
        obs, state, reward, done, _ = env.step(jax.random.PRNGKey(arm), state, arm, task)
        assert reward.dtype == jnp.float32 and float(reward) == expected
        assert bool(done)  # every pull ends the episode
        np.testing.assert_array_equal(obs, [0.0])
        assert int(state.time) == 0  # auto-reset: a fresh one-step episode


def test_out_of_range_arm_is_clipped():
    env = BernoulliBandit(num_arms=3)
    task = BanditParams(probs=jnp.array([1.0, 0.0, 0.0]))
    _, state = env.reset(jax.random.PRNGKey(0), task)
    # arm -4 is clipped to arm 0 (p = 1), arm 7 to arm 2 (p = 0)
    assert float(env.step(jax.random.PRNGKey(1), state, -4, task)[2]) == 1.0
    assert float(env.step(jax.random.PRNGKey(1), state, 7, task)[2]) == 0.0


def test_empirical_arm_means_match_probs():
    env = BernoulliBandit(num_arms=4)
    probs = jnp.array([0.1, 0.35, 0.5, 0.9])
    task = BanditParams(probs=probs)
    n = 20_000
    for arm in range(4):
        _, _, rewards, dones, _ = _pull_many(env, task, arm, n, seed=10 + arm)
        assert bool(jnp.all(dones))
        assert set(np.unique(np.asarray(rewards))) <= {0.0, 1.0}
        # the mean of n Bernoulli(p) pulls has sd sqrt(p(1-p)/n) <= 0.0036; allow 5 sd
        tol = 5 * np.sqrt(float(probs[arm]) * (1 - float(probs[arm])) / n)
        np.testing.assert_allclose(float(rewards.mean()), float(probs[arm]), atol=tol)


def test_sampled_probs_are_iid_uniform():
    env = BernoulliBandit(num_arms=5)
    probs = np.asarray(instances(env, 2000).probs)  # 2000 tasks x 5 arms
    assert probs.shape == (2000, 5) and probs.dtype == np.float32
    # Kolmogorov-Smirnov against U[0, 1] on all 10,000 values; with a fixed key the p-value is a
    # fixed number, and a wrong distribution (e.g. U[0, 0.9]) would give p ~ 1e-80.
    assert stats.kstest(probs.ravel(), "uniform").pvalue > 1e-3
    # independence across arms: sample correlations of 2000 pairs have sd ≈ 1/sqrt(2000) ≈ 0.022
    corr = np.corrcoef(probs.T)
    off_diagonal = corr[~np.eye(5, dtype=bool)]
    assert np.max(np.abs(off_diagonal)) < 0.1
    # and the arms differ within a task (not one value broadcast to all arms)
    assert np.all(np.std(probs, axis=1) > 0)


def test_jit_and_no_jit_agree():
    env = BernoulliBandit(num_arms=3)
    task = env.sample_task(jax.random.PRNGKey(3))
    _, state = env.reset(jax.random.PRNGKey(0), task)
    key = jax.random.PRNGKey(5)
    jitted = env.step(key, state, 2, task)
    with jax.disable_jit():
        eager = env.step(key, state, 2, task)
    for a, b in zip(jax.tree.leaves(jitted), jax.tree.leaves(eager), strict=True):
        np.testing.assert_array_equal(a, b)


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="num_arms"):
        BernoulliBandit(num_arms=1)
    with pytest.raises(ValueError, match="num_arms"):
        BernoulliBandit(num_arms=2.5)
    env = BernoulliBandit(num_arms=3)
    task = env.default_params
    _, state = env.reset(jax.random.PRNGKey(0), task)
    with pytest.raises(ValueError, match="scalar"):
        env.step(jax.random.PRNGKey(0), state, jnp.array([0, 1]), task)
