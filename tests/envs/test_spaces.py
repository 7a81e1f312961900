"""Tests of the minimal Discrete and Box spaces."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from adaptax.envs import Box, Discrete


def test_discrete_contains_known_values():
    space = Discrete(3)
    assert space.shape == () and space.dtype == jnp.int32
    assert [bool(space.contains(x)) for x in (0, 1, 2)] == [True, True, True]
    # 3 is one past the end, -1 below it, 1.5 is not a whole number, a vector has the wrong shape
    assert not bool(space.contains(3))
    assert not bool(space.contains(-1))
    assert not bool(space.contains(1.5))
    assert bool(space.contains(2.0))
    assert not bool(space.contains(jnp.array([1])))


def test_discrete_sample_is_uniform():
    # 30,000 draws over 3 values: each frequency has sd sqrt(1/3 * 2/3 / 30000) ≈ 0.0027;
    # 5 sd ≈ 0.014 keeps the fixed-key check far from chance failure.
    space = Discrete(3)
    samples = jax.vmap(space.sample)(jax.random.split(jax.random.PRNGKey(0), 30_000))
    assert samples.dtype == jnp.int32
    freq = np.bincount(np.asarray(samples), minlength=3) / samples.size
    np.testing.assert_allclose(freq, 1 / 3, atol=0.014)


def test_box_bounds_and_contains():
    space = Box(jnp.array([-1.0, 0.0]), 2.0, (2,))
    np.testing.assert_array_equal(space.low, [-1.0, 0.0])
    np.testing.assert_array_equal(space.high, [2.0, 2.0])
    assert bool(space.contains(jnp.array([-1.0, 2.0])))  # bounds are inclusive
    assert not bool(space.contains(jnp.array([-1.01, 1.0])))
    assert not bool(space.contains(jnp.array([0.0, 0.0, 0.0])))  # wrong shape
    samples = jax.vmap(space.sample)(jax.random.split(jax.random.PRNGKey(1), 20_000))
    assert bool(jnp.all(jax.vmap(space.contains)(samples)))
    # uniform on [-1, 2]: mean 0.5, sd 3/sqrt(12) ≈ 0.87, so the mean of 20,000 has sd ≈ 0.006
    np.testing.assert_allclose(samples[:, 0].mean(), 0.5, atol=0.03)
    np.testing.assert_allclose(samples[:, 1].mean(), 1.0, atol=0.03)


def test_box_unbounded_samples_are_finite_and_follow_the_rule():
    space = Box(jnp.array([-jnp.inf, 1.0, -jnp.inf]), jnp.array([jnp.inf, jnp.inf, -2.0]), (3,))
    samples = jax.vmap(space.sample)(jax.random.split(jax.random.PRNGKey(2), 20_000))
    assert bool(jnp.all(jnp.isfinite(samples)))
    assert bool(jnp.all(jax.vmap(space.contains)(samples)))
    # N(0, 1): mean 0; 1 + Exp(1): mean 2; -2 - Exp(1): mean -3. sd of each mean ≈ 1/sqrt(20000)
    np.testing.assert_allclose(samples.mean(axis=0), [0.0, 2.0, -3.0], atol=0.04)


def test_invalid_spaces_raise():
    with pytest.raises(ValueError, match="Discrete n"):
        Discrete(0)
    with pytest.raises(ValueError, match="low <= high"):
        Box(1.0, 0.0, (2,))
