"""Tests for adaptax.rl.losses: surrogates, distribution helpers, masked means."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from adaptax.rl.losses import (
    categorical_entropy,
    categorical_kl,
    categorical_log_prob,
    gaussian_entropy,
    gaussian_kl,
    gaussian_log_prob,
    importance_surrogate,
    masked_mean,
    reinforce_loss,
)

# ---------------------------------------------------------------- masked mean


def test_masked_mean_known_values():
    x = jnp.array([1.0, 2.0, 100.0])
    # (1 + 2) / 2 = 1.5: the padded 100 does not count
    assert masked_mean(x, jnp.array([True, True, False])) == pytest.approx(1.5)
    # float weights: (1·1 + 2·3) / 4 = 1.75
    assert masked_mean(x, jnp.array([1.0, 3.0, 0.0])) == pytest.approx(1.75)
    # no mask: (1 + 2 + 100) / 3
    assert masked_mean(x) == pytest.approx(103.0 / 3.0)


def test_masked_mean_broadcasts_mask_over_trailing_axis():
    x = jnp.arange(6.0).reshape(2, 3)  # [[0, 1, 2], [3, 4, 5]]
    # mask [[1], [0]] keeps the first row: (0 + 1 + 2) / 3 = 1
    assert masked_mean(x, jnp.array([[1.0], [0.0]])) == pytest.approx(1.0)


def test_masked_mean_empty_mask_is_zero_with_finite_gradient():
    x = jnp.array([1.0, 2.0])
    mask = jnp.zeros(2)
    assert masked_mean(x, mask) == 0.0
    grad = jax.grad(lambda y: masked_mean(y, mask))(x)
    assert np.all(np.isfinite(grad)) and np.all(grad == 0.0)


def test_masked_mean_bad_mask_shape_raises():
    with pytest.raises(ValueError, match="broadcast"):
        masked_mean(jnp.zeros(3), jnp.ones(4))
    with pytest.raises(ValueError, match="broadcast"):
        masked_mean(jnp.zeros(3), jnp.ones((2, 3)))  # would enlarge x


# ---------------------------------------------------------------- surrogates


def test_reinforce_loss_value_and_gradient():
    log_prob = jnp.log(jnp.array([0.5, 0.25]))
    adv = jnp.array([1.0, -1.0])
    # L = −(log 0.5 · 1 + log 0.25 · (−1)) / 2 = −(−0.6931 + 1.3863) / 2 = −0.34657
    assert reinforce_loss(log_prob, adv) == pytest.approx(-0.5 * math.log(2.0), rel=1e-6)
    # dL/dlog π_i = −A_i / N = [−0.5, 0.5];  dL/dA = 0 (advantages are constants)
    g_lp, g_adv = jax.grad(reinforce_loss, argnums=(0, 1))(log_prob, adv)
    np.testing.assert_allclose(g_lp, [-0.5, 0.5])
    np.testing.assert_allclose(g_adv, [0.0, 0.0])


def test_reinforce_loss_mask():
    log_prob = jnp.array([-1.0, -2.0, -3.0])
    adv = jnp.array([1.0, 1.0, 50.0])
    # only the first two count: −(−1 − 2) / 2 = 1.5
    assert reinforce_loss(log_prob, adv, jnp.array([1, 1, 0])) == pytest.approx(1.5)


def test_importance_surrogate_value_and_gradient():
    new = jnp.log(jnp.array([0.6, 0.2]))
    old = jnp.log(jnp.array([0.5, 0.4]))
    adv = jnp.array([2.0, -1.0])
    # ratios 0.6/0.5 = 1.2 and 0.2/0.4 = 0.5: objective (1.2·2 + 0.5·(−1)) / 2 = 0.95
    assert importance_surrogate(new, old, adv) == pytest.approx(0.95, rel=1e-6)
    # d/dnew_i = ratio_i · A_i / N = [1.2, −0.25]; old and A are constants: zero gradient
    g_new, g_old, g_adv = jax.grad(importance_surrogate, argnums=(0, 1, 2))(new, old, adv)
    np.testing.assert_allclose(g_new, [1.2, -0.25], rtol=1e-6)
    np.testing.assert_allclose(g_old, [0.0, 0.0])
    np.testing.assert_allclose(g_adv, [0.0, 0.0])


def test_importance_surrogate_gradient_at_old_policy_is_policy_gradient():
    rng = np.random.default_rng(0)
    lp = jnp.asarray(np.log(rng.uniform(0.1, 0.9, size=8)), jnp.float32)
    adv = jnp.asarray(rng.normal(size=8), jnp.float32)
    g_is = jax.grad(importance_surrogate)(lp, lp, adv)
    g_pg = jax.grad(reinforce_loss)(lp, adv)
    np.testing.assert_allclose(g_is, -g_pg, rtol=1e-6)


def test_surrogate_shape_mismatch_raises():
    with pytest.raises(ValueError, match="same shape"):
        importance_surrogate(jnp.zeros(3), jnp.zeros(3), jnp.zeros(4))


# ---------------------------------------------------------------- categorical


def test_categorical_log_prob_known_and_against_numpy():
    assert categorical_log_prob(jnp.log(jnp.array([0.2, 0.8])), jnp.array(1)) == pytest.approx(
        math.log(0.8), rel=1e-6
    )
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(4, 5, 3)).astype(np.float32)
    actions = rng.integers(0, 3, size=(4, 5))
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    expected = np.log(np.take_along_axis(p, actions[..., None], -1)[..., 0])
    np.testing.assert_allclose(categorical_log_prob(logits, actions), expected, rtol=1e-5)


def test_categorical_log_prob_validates_actions():
    with pytest.raises(ValueError, match="leading shape"):
        categorical_log_prob(jnp.zeros((4, 3)), jnp.zeros(5, jnp.int32))
    with pytest.raises(ValueError, match="integers"):
        categorical_log_prob(jnp.zeros((4, 3)), jnp.zeros(4))


def test_categorical_entropy_known_values():
    # uniform over 4: log 4;  p = [0.2, 0.8]: −(0.2 log 0.2 + 0.8 log 0.8) = 0.500402
    assert categorical_entropy(jnp.zeros(4)) == pytest.approx(math.log(4.0), rel=1e-6)
    h = categorical_entropy(jnp.log(jnp.array([0.2, 0.8])))
    assert h == pytest.approx(-(0.2 * math.log(0.2) + 0.8 * math.log(0.8)), rel=1e-6)


def test_categorical_kl_known_value_and_properties():
    # p = [½, ½], q = [¼, ¾]: ½ log(0.5/0.25) + ½ log(0.5/0.75) = ½ log(4/3) = 0.143841
    kl = categorical_kl(jnp.log(jnp.array([0.5, 0.5])), jnp.log(jnp.array([0.25, 0.75])))
    assert kl == pytest.approx(0.5 * math.log(4.0 / 3.0), rel=1e-5)
    rng = np.random.default_rng(2)
    lp, lq = rng.normal(size=(2, 10, 4)).astype(np.float32)
    kl = np.asarray(categorical_kl(lp, lq))
    p = np.exp(lp) / np.exp(lp).sum(-1, keepdims=True)
    q = np.exp(lq) / np.exp(lq).sum(-1, keepdims=True)
    np.testing.assert_allclose(kl, np.sum(p * np.log(p / q), -1), rtol=1e-4, atol=1e-6)
    assert np.all(kl > 0)
    np.testing.assert_allclose(categorical_kl(lp, lp + 3.0), 0.0, atol=1e-6)  # shift-invariant


# ---------------------------------------------------------------- Gaussian


def test_gaussian_log_prob_against_scipy():
    rng = np.random.default_rng(3)
    mean = rng.normal(size=(6, 3))
    log_std = rng.normal(size=3) * 0.5  # state-independent, broadcast
    a = rng.normal(size=(6, 3))
    expected = stats.norm.logpdf(a, mean, np.exp(log_std)).sum(-1)
    got = gaussian_log_prob(
        jnp.asarray(mean, jnp.float32),
        jnp.asarray(log_std, jnp.float32),
        jnp.asarray(a, jnp.float32),
    )
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_gaussian_entropy_known_value_and_against_scipy():
    # one standard normal dimension: ½ log(2πe) = 1.418939
    assert gaussian_entropy(jnp.zeros(1)) == pytest.approx(0.5 * math.log(2 * math.pi * math.e))
    log_std = np.array([-0.3, 0.2, 1.0])
    expected = stats.multivariate_normal(np.zeros(3), np.diag(np.exp(2 * log_std))).entropy()
    assert gaussian_entropy(jnp.asarray(log_std, jnp.float32)) == pytest.approx(expected, rel=1e-5)


def test_gaussian_kl_known_values():
    # KL(N(0,1) ‖ N(1,1)) = ½ (0 − 1)² = 0.5
    kl = gaussian_kl(jnp.zeros(1), jnp.zeros(1), jnp.ones(1), jnp.zeros(1))
    assert kl == pytest.approx(0.5)
    # KL(N(0,1) ‖ N(0,2²)) = log 2 + 1/(2·4) − ½ = 0.693147 + 0.125 − 0.5 = 0.318147
    kl = gaussian_kl(jnp.zeros(1), jnp.zeros(1), jnp.zeros(1), jnp.log(jnp.full(1, 2.0)))
    assert kl == pytest.approx(math.log(2.0) - 0.375, rel=1e-6)
    # sums over dimensions: both of the above side by side
    kl = gaussian_kl(
        jnp.zeros(2), jnp.zeros(2), jnp.array([1.0, 0.0]), jnp.array([0.0, math.log(2.0)])
    )
    assert kl == pytest.approx(0.5 + math.log(2.0) - 0.375, rel=1e-6)


def test_gaussian_kl_matches_monte_carlo():
    """E_p[log p(a) − log q(a)] estimated from 200k samples of p agrees with the closed form."""
    mean_p, log_std_p = jnp.array([0.3, -0.5]), jnp.array([0.1, -0.4])
    mean_q, log_std_q = jnp.array([-0.2, 0.1]), jnp.array([0.3, 0.0])
    n = 200_000
    a = mean_p + jnp.exp(log_std_p) * jax.random.normal(jax.random.key(0), (n, 2))
    log_ratio = gaussian_log_prob(
        jnp.broadcast_to(mean_p, (n, 2)), log_std_p, a
    ) - gaussian_log_prob(jnp.broadcast_to(mean_q, (n, 2)), log_std_q, a)
    estimate = float(jnp.mean(log_ratio))
    stderr = float(jnp.std(log_ratio)) / math.sqrt(n)
    exact = float(gaussian_kl(mean_p, log_std_p, mean_q, log_std_q))
    # four standard errors: a false failure has probability ≈ 6e-5 (and the key is fixed)
    assert abs(estimate - exact) < 4 * stderr


def test_kl_gradient_vanishes_at_equal_distributions():
    logits = jnp.array([0.3, -1.0, 2.0])
    g = jax.grad(lambda q: categorical_kl(jax.lax.stop_gradient(logits), q))(logits)
    np.testing.assert_allclose(g, 0.0, atol=1e-6)
    g = jax.grad(lambda m: gaussian_kl(jnp.ones(2), jnp.zeros(2), m, jnp.zeros(2)))(jnp.ones(2))
    np.testing.assert_allclose(g, 0.0, atol=1e-6)


def test_helpers_jit_matches_no_jit():
    rng = np.random.default_rng(4)
    logits = jnp.asarray(rng.normal(size=(5, 3)), jnp.float32)
    a = jnp.asarray(rng.integers(0, 3, size=5))
    for fn, args in [
        (categorical_log_prob, (logits, a)),
        (categorical_entropy, (logits,)),
        (categorical_kl, (logits, logits[::-1])),
        (gaussian_kl, (logits, logits * 0.1, logits[::-1], logits * 0.2)),
    ]:
        np.testing.assert_allclose(jax.jit(fn)(*args), fn(*args), rtol=1e-6, atol=1e-7)
