"""Tests for adaptax.nets.recurrent: the RL² GRU actor-critic."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from adaptax.nets.recurrent import GaussianOutput, RecurrentActorCritic, RecurrentCarry

IN, A, H, E, T = 5, 3, 8, 6, 7


def make(**kwargs):
    kwargs = {"action_dim": A, "hidden_size": H, "embed_size": E, **kwargs}
    net = RecurrentActorCritic(**kwargs)
    params = net.init(jax.random.key(0), net.init_carry(), jnp.zeros(IN), jnp.array(False))
    return net, params


def inputs(seed=1, length=T):
    xs = jax.random.normal(jax.random.key(seed), (length, IN))
    resets = jnp.zeros(length, bool).at[0].set(True)
    return xs, resets


def n_params(tree) -> int:
    return sum(x.size for x in jax.tree_util.tree_leaves(tree))


def test_parameter_counts_separate_and_shared():
    # embedding Dense(IN→E): IN·E + E = 5·6 + 6 = 36
    # GRUCell(E→H): input gates ir, iz, in with bias: 3 (E·H + H) = 3 (48 + 8) = 168;
    #               hidden gates hr, hz without bias, hn with bias: 3 H² + H = 192 + 8 = 200
    # policy head Dense(H→A): H·A + A = 24 + 3 = 27;  value head Dense(H→1): 8 + 1 = 9
    torso = 36 + 168 + 200
    _, separate = make()
    _, shared = make(shared_torso=True)
    assert n_params(separate) == 2 * torso + 27 + 9  # = 844
    assert n_params(shared) == torso + 27 + 9  # = 440
    # a Gaussian head adds a state-independent log std per action dimension
    _, gauss = make(action_distribution="gaussian")
    assert n_params(gauss) == n_params(separate) + A


def test_init_carry_shapes():
    net, _ = make()
    assert net.init_carry().policy.shape == (H,)
    carry = net.init_carry((2, 4))
    assert carry.policy.shape == (2, 4, H) and carry.value.shape == (2, 4, H)
    assert np.all(np.asarray(carry.policy) == 0)
    shared, _ = make(shared_torso=True)
    assert shared.init_carry(3).value is None


def test_unroll_equals_stepping_one_by_one():
    net, params = make()
    xs, resets = inputs()
    resets = resets.at[4].set(True)
    carry = net.init_carry()
    final, logits, values = net.unroll(params, carry, xs, resets)
    step_logits, step_values = [], []
    for t in range(T):
        carry, lg, v = net.apply(params, carry, xs[t], resets[t])
        step_logits.append(lg)
        step_values.append(v)
    np.testing.assert_allclose(logits, jnp.stack(step_logits), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(values, jnp.stack(step_values), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(final.policy, carry.policy, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(final.value, carry.value, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, activation", [("relu", jax.nn.relu), ("tanh", jnp.tanh)])
def test_step_matches_hand_written_gru(name, activation):
    """One step recomputed from the parameters with the GRU equations (Cho et al. 2014)."""
    net, params = make(shared_torso=True, embed_activation=name)
    p = params["params"]
    x = jax.random.normal(jax.random.key(3), (IN,))
    h0 = jax.random.normal(jax.random.key(4), (H,))
    carry = RecurrentCarry(policy=h0, value=None)
    new_carry, logits, value = net.apply(params, carry, x, jnp.array(False))

    def dense(name, v, sub=None):
        q = p[name] if sub is None else p[name][sub]
        return v @ q["kernel"] + q.get("bias", 0.0)

    e = activation(dense("policy_embed", x))
    r = jax.nn.sigmoid(dense("policy_gru", e, "ir") + dense("policy_gru", h0, "hr"))
    z = jax.nn.sigmoid(dense("policy_gru", e, "iz") + dense("policy_gru", h0, "hz"))
    n = jnp.tanh(dense("policy_gru", e, "in") + r * dense("policy_gru", h0, "hn"))
    h1 = (1 - z) * n + z * h0
    np.testing.assert_allclose(new_carry.policy, h1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logits, dense("policy_head", h1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(value, dense("value_head", h1)[0], rtol=1e-5, atol=1e-6)


def test_reset_zeroes_the_state_before_the_step():
    net, params = make()
    x = jnp.ones(IN)
    nonzero = RecurrentCarry(policy=jnp.full(H, 0.7), value=jnp.full(H, -0.3))
    after_reset = net.apply(params, nonzero, x, jnp.array(True))
    from_zero = net.apply(params, net.init_carry(), x, jnp.array(False))
    for a, b in zip(
        jax.tree_util.tree_leaves(after_reset), jax.tree_util.tree_leaves(from_zero), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("shared_torso", [False, True])
def test_reset_cuts_dependence_on_the_past(shared_torso):
    net, params = make(shared_torso=shared_torso)
    xs, resets = inputs(length=T)
    xs_changed = xs.at[:3].add(5.0)  # change the inputs of steps 0, 1, 2
    carry = net.init_carry()
    t_reset = 3
    with_reset = resets.at[t_reset].set(True)
    _, lg1, v1 = net.unroll(params, carry, xs, with_reset)
    _, lg2, v2 = net.unroll(params, carry, xs_changed, with_reset)
    # from the reset on, the outputs do not see the changed past
    np.testing.assert_allclose(lg1[t_reset:], lg2[t_reset:], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(v1[t_reset:], v2[t_reset:], rtol=1e-6, atol=1e-7)
    # without the reset they do (the hidden state carries the past across the boundary)
    _, lg3, v3 = net.unroll(params, carry, xs, resets)
    _, lg4, v4 = net.unroll(params, carry, xs_changed, resets)
    assert float(jnp.max(jnp.abs(lg3[t_reset:] - lg4[t_reset:]))) > 1e-4
    assert float(jnp.max(jnp.abs(v3[t_reset:] - v4[t_reset:]))) > 1e-3


def test_separate_value_network_is_independent_of_policy_parameters():
    net, params = make()
    xs, resets = inputs()
    carry = net.init_carry()
    _, lg, v = net.unroll(params, carry, xs, resets)
    # perturb the policy GRU: values unchanged, logits change
    bumped = jax.tree_util.tree_map(lambda x: x, params)
    bumped["params"]["policy_gru"] = jax.tree_util.tree_map(
        lambda x: x + 0.1, params["params"]["policy_gru"]
    )
    _, lg_b, v_b = net.unroll(bumped, carry, xs, resets)
    np.testing.assert_array_equal(v_b, v)
    assert float(jnp.max(jnp.abs(lg_b - lg))) > 1e-5
    # with a shared torso the same perturbation moves the value
    shared, sparams = make(shared_torso=True)
    _, _, vs = shared.unroll(sparams, shared.init_carry(), xs, resets)
    sbumped = jax.tree_util.tree_map(lambda x: x, sparams)
    sbumped["params"]["policy_gru"] = jax.tree_util.tree_map(
        lambda x: x + 0.1, sparams["params"]["policy_gru"]
    )
    _, _, vs_b = shared.unroll(sbumped, shared.init_carry(), xs, resets)
    assert float(jnp.max(jnp.abs(vs_b - vs))) > 1e-4


def test_vmap_over_streams_matches_each_stream_and_batched_carry():
    net, params = make()
    B = 3
    xs = jax.random.normal(jax.random.key(5), (B, T, IN))
    resets = jnp.zeros((B, T), bool).at[:, 0].set(True).at[1, 4].set(True)
    carry = net.init_carry(B)
    _, lg, v = jax.vmap(net.unroll, in_axes=(None, 0, 0, 0))(params, carry, xs, resets)
    assert lg.shape == (B, T, A) and v.shape == (B, T)
    for b in range(B):
        _, lg_b, v_b = net.unroll(params, net.init_carry(), xs[b], resets[b])
        np.testing.assert_allclose(lg[b], lg_b, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(v[b], v_b, rtol=1e-5, atol=1e-6)
    # the same with a batched carry and time-major inputs, no vmap
    _, lg_tm, v_tm = net.unroll(params, carry, xs.swapaxes(0, 1), resets.T)
    np.testing.assert_allclose(lg_tm.swapaxes(0, 1), lg, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(v_tm.T, v, rtol=1e-5, atol=1e-6)


def test_jit_unroll_matches_eager():
    net, params = make(embed_activation="tanh")
    xs, resets = inputs()
    eager = net.unroll(params, net.init_carry(), xs, resets)
    jitted = jax.jit(net.unroll)(params, net.init_carry(), xs, resets)
    for a, b in zip(
        jax.tree_util.tree_leaves(jitted), jax.tree_util.tree_leaves(eager), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_initial_policy_is_near_uniform():
    # the policy head starts at scale 0.01, so softmax(logits) ≈ 1/A at initialisation
    net, params = make()
    xs, resets = inputs()
    _, logits, _ = net.unroll(params, net.init_carry(), xs, resets)
    np.testing.assert_allclose(jax.nn.softmax(logits), 1.0 / A, atol=0.02)


def test_gaussian_head():
    net, params = make(action_distribution="gaussian", log_std_init=-0.5)
    xs, resets = inputs()
    _, pi, v = net.unroll(params, net.init_carry(), xs, resets)
    assert isinstance(pi, GaussianOutput)
    assert pi.mean.shape == (T, A) and v.shape == (T,)
    np.testing.assert_allclose(pi.log_std, -0.5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"action_dim": 0},
        {"hidden_size": -1},
        {"embed_activation": "gelu"},
        {"action_distribution": "beta"},
    ],
)
def test_invalid_configuration_raises(kwargs):
    with pytest.raises(ValueError):
        RecurrentActorCritic(**{"action_dim": A, **kwargs})


def test_bad_call_shapes_raise():
    net, params = make()
    with pytest.raises(ValueError, match="reset"):
        net.apply(params, net.init_carry(), jnp.zeros(IN), jnp.zeros(2, bool))
    with pytest.raises(ValueError, match="x must"):
        net.apply(params, net.init_carry(), jnp.zeros((2, IN)), jnp.array(False))
    shared, _ = make(shared_torso=True)
    with pytest.raises(ValueError, match="shared_torso"):
        net.apply(params, shared.init_carry(), jnp.zeros(IN), jnp.array(False))


def test_a_structured_input_is_the_flat_vector_or_goes_through_its_encoder():
    from adaptax.envs.wrappers import PolicyInput, flatten_input
    from adaptax.nets.encoders import PixelEncoder

    # a pytree input is flattened in field order: the same outputs as the flat vector
    x = PolicyInput(None, jnp.arange(3.0), jnp.array([0.0, 1.0]), jnp.array(0.5), jnp.array(1.0))
    net = RecurrentActorCritic(action_dim=2, hidden_size=4, embed_size=4)
    params = net.init(jax.random.PRNGKey(0), net.init_carry(), flatten_input(x), jnp.array(True))
    a = net.apply(params, net.init_carry(), x, jnp.array(True))
    b = net.apply(params, net.init_carry(), flatten_input(x), jnp.array(True))
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(u, v)
    # an image observation through the convolutions, batched over [time, trials]
    img = PolicyInput(None, jnp.ones((5, 3, 30, 40, 3)), jnp.zeros((5, 3, 3)), jnp.zeros((5, 3)),
                      jnp.zeros((5, 3)))
    pix = RecurrentActorCritic(action_dim=3, hidden_size=8, embed_size=8, shared_torso=True,
                               encoder=PixelEncoder())
    one = jax.tree.map(lambda leaf: leaf[0, 0], img)
    params = pix.init(jax.random.PRNGKey(1), pix.init_carry(), one, jnp.array(True))
    kernel = params["params"]["encoder"]["kernel_0"]
    assert kernel.shape == (5, 5, 3, 16)  # the paper's 16 filters of 5×5
    _, logits, values = pix.unroll(params, pix.init_carry(3), img, jnp.zeros((5, 3), bool))
    assert logits.shape == (5, 3, 3) and values.shape == (5, 3)
    # the encoder reads the pixels: another image, another value
    other = img._replace(obs=jnp.zeros_like(img.obs))
    assert not np.allclose(values, pix.unroll(params, pix.init_carry(3), other,
                                              jnp.zeros((5, 3), bool))[2])


def test_pixel_encoder_patches_and_lax_convolutions_agree():
    from adaptax.envs.wrappers import PolicyInput
    from adaptax.nets.encoders import PixelEncoder

    x = PolicyInput(None, jax.random.uniform(jax.random.PRNGKey(0), (2, 3, 30, 40, 3)),
                    jnp.ones((2, 3, 3)), jnp.ones((2, 3)), jnp.zeros((2, 3)))
    params = PixelEncoder().init(jax.random.PRNGKey(1), x)
    fast = PixelEncoder(conv="patches").apply(params, x)
    slow = PixelEncoder(conv="lax").apply(params, x)
    assert fast.shape == (2, 3, 16 * 5 * 7 + 5)  # 30×40 → 13×18 → 5×7
    np.testing.assert_allclose(fast, slow, rtol=1e-4, atol=1e-5)
