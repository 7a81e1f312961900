"""Tests for adaptax.rl.returns: discounted returns and GAE on one stream."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from adaptax.rl.returns import discounted_returns, gae


def slow_discounted_returns(rewards, dones, gamma, last_value):
    """The obvious backward Python loop."""
    out = np.zeros(len(rewards))
    running = last_value
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * (1.0 - dones[t]) * running
        out[t] = running
    return out


def slow_gae(rewards, values, dones, last_value, gamma, lam):
    """The obvious backward Python loop of Schulman et al. 2016, eq. 16."""
    T = len(rewards)
    adv = np.zeros(T)
    next_adv = 0.0
    for t in reversed(range(T)):
        next_value = last_value if t == T - 1 else values[t + 1]
        nonterminal = 1.0 - dones[t]
        delta = rewards[t] + gamma * nonterminal * next_value - values[t]
        next_adv = delta + gamma * lam * nonterminal * next_adv
        adv[t] = next_adv
    return adv, adv + values


def random_stream(seed, T=37, p_done=0.15):
    rng = np.random.default_rng(seed)
    rewards = rng.normal(size=T).astype(np.float32)
    values = rng.normal(size=T).astype(np.float32)
    dones = rng.random(T) < p_done
    last_value = np.float32(rng.normal())
    return rewards, values, dones, last_value


def test_discounted_returns_hand_worked():
    r = jnp.array([1.0, 2.0, 3.0])
    # No episode end, γ = 0.9, bootstrap 10:
    #   G2 = 3 + 0.9·10 = 12;  G1 = 2 + 0.9·12 = 12.8;  G0 = 1 + 0.9·12.8 = 12.52
    g = discounted_returns(r, jnp.array([False, False, False]), 0.9, last_value=10.0)
    np.testing.assert_allclose(g, [12.52, 12.8, 12.0], rtol=1e-6)
    # Episode ends after step 1: G2 = 12 as before;  G1 = 2 (cut);  G0 = 1 + 0.9·2 = 2.8
    g = discounted_returns(r, jnp.array([False, True, False]), 0.9, last_value=10.0)
    np.testing.assert_allclose(g, [2.8, 2.0, 12.0], rtol=1e-6)


def test_gae_hand_worked_three_steps():
    # r = [1, 0, 2], V = [0.5, 1.0, 1.5], V(s_3) = 2, episode ends after step 1, γ = 0.9, λ = 0.5
    #   δ0 = 1 + 0.9·1.0 − 0.5 = 1.4
    #   δ1 = 0 + 0 (cut) − 1.0 = −1.0
    #   δ2 = 2 + 0.9·2.0 − 1.5 = 2.3
    #   A2 = 2.3;  A1 = −1.0 + 0 (cut) = −1.0;  A0 = 1.4 + 0.9·0.5·(−1.0) = 0.95
    #   R = A + V = [1.45, 0.0, 3.8]
    adv, ret = gae(
        jnp.array([1.0, 0.0, 2.0]),
        jnp.array([0.5, 1.0, 1.5]),
        jnp.array([False, True, False]),
        last_value=2.0,
        gamma=0.9,
        lam=0.5,
    )
    np.testing.assert_allclose(adv, [0.95, -1.0, 2.3], rtol=1e-6)
    np.testing.assert_allclose(ret, [1.45, 0.0, 3.8], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("p_done", [0.0, 0.2])
def test_discounted_returns_matches_loop(seed, p_done):
    r, _, d, last = random_stream(seed, p_done=p_done)
    expected = slow_discounted_returns(r.astype(np.float64), d, 0.95, float(last))
    got = discounted_returns(jnp.asarray(r), jnp.asarray(d), 0.95, last)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("p_done", [0.0, 0.2])
def test_gae_matches_loop(seed, p_done):
    r, v, d, last = random_stream(seed, p_done=p_done)
    adv_ref, ret_ref = slow_gae(
        r.astype(np.float64), v.astype(np.float64), d, float(last), 0.99, 0.3
    )
    adv, ret = gae(jnp.asarray(r), jnp.asarray(v), jnp.asarray(d), last, 0.99, 0.3)
    np.testing.assert_allclose(adv, adv_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ret, ret_ref, rtol=1e-5, atol=1e-5)


def test_dones_accept_float_flags():
    r, v, d, last = random_stream(3, p_done=0.3)
    as_bool = gae(r, v, jnp.asarray(d), last, 0.9, 0.8)
    as_float = gae(r, v, jnp.asarray(d, jnp.float32), last, 0.9, 0.8)
    np.testing.assert_allclose(as_bool.advantages, as_float.advantages)


def test_lambda_one_is_discounted_return_minus_value():
    r, v, d, last = random_stream(4, p_done=0.2)
    adv, ret = gae(r, v, d, last, 0.97, 1.0)
    g = discounted_returns(r, d, 0.97, last)
    np.testing.assert_allclose(adv, g - v, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ret, g, rtol=1e-5, atol=1e-5)


def test_lambda_zero_is_td_error():
    r, v, d, last = random_stream(5, p_done=0.2)
    adv, _ = gae(r, v, d, last, 0.97, 0.0)
    next_v = np.append(v[1:], last)
    td = r + 0.97 * (1.0 - d) * next_v - v
    np.testing.assert_allclose(adv, td, rtol=1e-5, atol=1e-6)


def test_done_on_last_step_ignores_last_value():
    r, v, d, _ = random_stream(6)
    d = d.copy()
    d[-1] = True
    a1 = gae(r, v, d, 100.0, 0.9, 0.9).advantages
    a2 = gae(r, v, d, -100.0, 0.9, 0.9).advantages
    np.testing.assert_allclose(a1, a2)


def test_jit_matches_no_jit():
    r, v, d, last = random_stream(7, p_done=0.2)
    eager = gae(r, v, d, last, 0.99, 0.95)
    jitted = jax.jit(gae)(r, v, d, last, 0.99, 0.95)  # γ, λ traced
    np.testing.assert_allclose(jitted.advantages, eager.advantages, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(jitted.returns, eager.returns, rtol=1e-6, atol=1e-6)
    g_eager = discounted_returns(r, d, 0.99, last)
    g_jit = jax.jit(discounted_returns)(r, d, 0.99, last)
    np.testing.assert_allclose(g_jit, g_eager, rtol=1e-6, atol=1e-6)


def test_vmap_over_streams_matches_each_stream():
    streams = [random_stream(s, T=11, p_done=0.2) for s in range(4)]
    r, v, d, last = (np.stack(x) for x in zip(*streams, strict=True))
    batched = jax.vmap(gae, in_axes=(0, 0, 0, 0, None, None))(r, v, d, last, 0.9, 0.7)
    for i in range(4):
        single = gae(r[i], v[i], d[i], last[i], 0.9, 0.7)
        np.testing.assert_allclose(batched.advantages[i], single.advantages, rtol=1e-6)


def test_gradient_flows_through_values():
    # dA_0/dV_0 = −1 (from δ0) and dA_0/dV_1 = γ − γλ (from δ0 and δ1): with γ=0.9, λ=0.5: 0.45
    r = jnp.array([1.0, 1.0])
    grad = jax.grad(lambda v: gae(r, v, jnp.zeros(2, bool), 0.0, 0.9, 0.5).advantages[0])(
        jnp.array([0.3, 0.7])
    )
    np.testing.assert_allclose(grad, [-1.0, 0.45], rtol=1e-6)


@pytest.mark.parametrize(
    "call",
    [
        lambda: gae(jnp.zeros((2, 3)), jnp.zeros((2, 3)), jnp.zeros((2, 3)), 0.0, 0.9, 0.9),
        lambda: gae(jnp.zeros(3), jnp.zeros(4), jnp.zeros(3), 0.0, 0.9, 0.9),
        lambda: gae(jnp.zeros(3), jnp.zeros(3), jnp.zeros(3), 0.0, 1.5, 0.9),
        lambda: gae(jnp.zeros(3), jnp.zeros(3), jnp.zeros(3), 0.0, 0.9, -0.1),
        lambda: discounted_returns(jnp.zeros(0), jnp.zeros(0), 0.9),
    ],
)
def test_bad_inputs_raise_value_error(call):
    with pytest.raises(ValueError):
        call()
