"""Tests for adaptax.rl.ppo: the PPO-clip loss on a hand-worked example, and its gradients."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from adaptax.rl.ppo import normalize_advantages, ppo_loss

# Four samples, ε = 0.2, chosen to hit every branch of min(r A, clip(r) A):
#   0: r = 1.1, A =  2  inside [0.8, 1.2]            → term  2.2, dterm/dlog r = r A = 2.2
#   1: r = 1.5, A =  1  clipped above (A > 0)        → term  1.2, gradient 0
#   2: r = 0.5, A = −1  clipped below (A < 0)        → term −0.8, gradient 0
#   3: r = 0.5, A =  1  below, but min keeps r A     → term  0.5, dterm/dlog r = 0.5
# L^CLIP = (2.2 + 1.2 − 0.8 + 0.5) / 4 = 0.775, so the policy loss is −0.775.
RATIOS = jnp.array([1.1, 1.5, 0.5, 0.5])
OLD_LOG_PROB = jnp.array([-1.0, -0.5, -2.0, -1.5])
NEW_LOG_PROB = OLD_LOG_PROB + jnp.log(RATIOS)
ADVANTAGES = jnp.array([2.0, 1.0, -1.0, 1.0])
# Value terms (old V, new V, return R), ε = 0.2 also clips V − V_old:
#   0: V_old 0, V 0.1,  R 1: unclipped (0.1 − 1)² = 0.81, clipped V 0.1 → 0.81   → 0.81
#   1: V_old 0, V 0.5,  R 1: unclipped 0.25, clipped V 0.2 → (0.2 − 1)² = 0.64    → 0.64
#   2: V_old 0, V −0.5, R 0: unclipped 0.25, clipped V −0.2 → 0.04                 → 0.25
#   3: V_old 1, V 1,    R 1: 0                                                       → 0
# L^VF = ½ (0.81 + 0.64 + 0.25 + 0) / 4 = 0.2125 (clipped); ½ (0.81 + 0.25 + 0.25) / 4 =
# 0.16375 (not clipped).
OLD_VALUES = jnp.array([0.0, 0.0, 0.0, 1.0])
VALUES = jnp.array([0.1, 0.5, -0.5, 1.0])
RETURNS = jnp.array([1.0, 1.0, 0.0, 1.0])
ENTROPY = jnp.array([1.0, 2.0, 3.0, 2.0])  # mean 2


def loss_of(new_log_prob=NEW_LOG_PROB, values=VALUES, **kwargs):
    return ppo_loss(
        new_log_prob, OLD_LOG_PROB, ADVANTAGES, values, OLD_VALUES, RETURNS, ENTROPY, **kwargs
    )


def test_ppo_loss_hand_worked_value():
    loss, info = loss_of(vf_coef=0.5, ent_coef=0.01)
    assert float(info.policy_loss) == pytest.approx(-0.775, rel=1e-5)
    assert float(info.value_loss) == pytest.approx(0.2125, rel=1e-5)
    assert float(info.entropy) == pytest.approx(2.0)
    # −0.775 + 0.5 · 0.2125 − 0.01 · 2 = −0.68875
    assert float(loss) == pytest.approx(-0.68875, rel=1e-5)
    # samples 1, 2, 3 have |r − 1| = 0.5 > 0.2
    assert float(info.clip_fraction) == pytest.approx(0.75)
    # mean of (r − 1) − log r: 0.0046898 + 0.0945349 + 0.1931472 + 0.1931472 = 0.4855191; / 4
    expected_kl = np.mean([(r - 1) - math.log(r) for r in (1.1, 1.5, 0.5, 0.5)])
    assert float(info.approx_kl) == pytest.approx(expected_kl, rel=1e-5)
    assert expected_kl == pytest.approx(0.4855191 / 4, rel=1e-6)


def test_ppo_loss_without_value_clipping():
    _, info = loss_of(clip_value=False)
    assert float(info.value_loss) == pytest.approx(0.16375, rel=1e-5)


def test_ppo_policy_gradient_hand_worked():
    # d(−L^CLIP)/d new_log_prob_i = −(1/4) · r_i A_i on unclipped terms, 0 on clipped ones:
    #   [−2.2/4, 0, 0, −0.5/4] = [−0.55, 0, 0, −0.125]
    grad = jax.grad(lambda lp: loss_of(new_log_prob=lp)[0])(NEW_LOG_PROB)
    np.testing.assert_allclose(grad, [-0.55, 0.0, 0.0, -0.125], rtol=1e-5, atol=1e-7)


def test_ppo_value_gradient_hand_worked():
    # d/dV_i of c_vf · ½ · mean(max(...)) with c_vf = 0.5, N = 4: 0.0625 · d(term_i)/dV_i
    #   0: 2 (0.1 − 1) = −1.8 (both branches agree) → −0.1125
    #   1: the clipped branch wins and is flat in V → 0
    #   2: 2 (−0.5 − 0) = −1.0                      → −0.0625
    #   3: 2 (1 − 1) = 0                             → 0
    grad = jax.grad(lambda v: loss_of(values=v, vf_coef=0.5)[0])(VALUES)
    np.testing.assert_allclose(grad, [-0.1125, 0.0, -0.0625, 0.0], rtol=1e-5, atol=1e-7)


def test_ppo_constants_get_no_gradient():
    def loss_wrt(old_lp, adv, old_v, ret):
        return ppo_loss(NEW_LOG_PROB, old_lp, adv, VALUES, old_v, ret, ENTROPY)[0]

    grads = jax.grad(loss_wrt, argnums=(0, 1, 2, 3))(OLD_LOG_PROB, ADVANTAGES, OLD_VALUES, RETURNS)
    for g in grads:
        np.testing.assert_array_equal(g, 0.0)


def test_ppo_entropy_gradient():
    # d/dH_i of −c_ent · mean(H) = −c_ent / 4 = −0.0025 with c_ent = 0.01
    grad = jax.grad(
        lambda h: ppo_loss(
            NEW_LOG_PROB, OLD_LOG_PROB, ADVANTAGES, VALUES, OLD_VALUES, RETURNS, h, ent_coef=0.01
        )[0]
    )(ENTROPY)
    np.testing.assert_allclose(grad, -0.0025, rtol=1e-6)


def test_ppo_mask_drops_padded_steps():
    mask = jnp.array([1.0, 1.0, 1.0, 0.0])
    _, info = loss_of(mask=mask)
    # policy: −(2.2 + 1.2 − 0.8) / 3 = −0.866667;  value: ½ (0.81 + 0.64 + 0.25) / 3 = 0.283333
    assert float(info.policy_loss) == pytest.approx(-2.6 / 3, rel=1e-5)
    assert float(info.value_loss) == pytest.approx(0.85 / 3, rel=1e-5)
    assert float(info.clip_fraction) == pytest.approx(2 / 3)
    # the padded sample gets no gradient
    grad = jax.grad(lambda lp: loss_of(new_log_prob=lp, mask=mask)[0])(NEW_LOG_PROB)
    assert float(grad[3]) == 0.0


def test_ppo_equals_plain_surrogate_inside_the_clip_range():
    # all ratios within 1 ± ε: L^CLIP = mean(r A) exactly, the TRPO surrogate
    rng = np.random.default_rng(0)
    old = jnp.asarray(rng.normal(size=16), jnp.float32)
    new = old + jnp.asarray(rng.uniform(-0.1, 0.1, size=16), jnp.float32)
    adv = jnp.asarray(rng.normal(size=16), jnp.float32)
    zeros = jnp.zeros(16)
    _, info = ppo_loss(new, old, adv, zeros, zeros, zeros, zeros, clip_eps=0.2)
    assert float(info.policy_loss) == pytest.approx(
        -float(jnp.mean(jnp.exp(new - old) * adv)), rel=1e-5
    )
    assert float(info.clip_fraction) == 0.0


def test_ppo_jit_matches_no_jit():
    eager = loss_of(ent_coef=0.01)
    jitted = jax.jit(lambda lp, v: loss_of(new_log_prob=lp, values=v, ent_coef=0.01))(
        NEW_LOG_PROB, VALUES
    )
    np.testing.assert_allclose(jitted[0], eager[0], rtol=1e-6)
    for a, b in zip(jitted[1], eager[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("kwargs", [{"clip_eps": 0.0}, {"vf_coef": -1.0}, {"ent_coef": -0.1}])
def test_ppo_validates_settings(kwargs):
    with pytest.raises(ValueError):
        loss_of(**kwargs)


def test_ppo_shape_mismatch_raises():
    with pytest.raises(ValueError, match="same shape"):
        ppo_loss(NEW_LOG_PROB, OLD_LOG_PROB, ADVANTAGES[:3], VALUES, OLD_VALUES, RETURNS, ENTROPY)


def test_normalize_advantages_known_values():
    # [1, 3]: mean 2, population std 1 → [−1, 1]
    np.testing.assert_allclose(normalize_advantages(jnp.array([1.0, 3.0])), [-1.0, 1.0], rtol=1e-6)
    # masked: statistics from [1, 3] only; the padded entry comes back as 0
    out = normalize_advantages(jnp.array([1.0, 3.0, 100.0]), jnp.array([1, 1, 0]))
    np.testing.assert_allclose(out, [-1.0, 1.0, 0.0], rtol=1e-6)


def test_normalize_advantages_random_against_numpy():
    a = np.random.default_rng(1).normal(3.0, 5.0, size=50).astype(np.float32)
    np.testing.assert_allclose(
        normalize_advantages(jnp.asarray(a)), (a - a.mean()) / a.std(), rtol=1e-4, atol=1e-5
    )
