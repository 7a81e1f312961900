"""GaussianMLP: the authors' initialisation and what it means for an untrained policy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from adaptax.envs import Navigation2D
from adaptax.nets.gaussian_mlp import GaussianMLP


def test_initialisation_is_glorot_uniform_with_zero_biases():
    net = GaussianMLP(hidden=(100, 100), action_dim=2, init_log_std=-0.5)
    params = net.init(jax.random.PRNGKey(0), jnp.zeros((2,)))["params"]
    layers = [params[f"Dense_{i}"] for i in range(3)]
    assert [tuple(p["kernel"].shape) for p in layers] == [(2, 100), (100, 100), (100, 2)]
    for p in layers:
        fan_in, fan_out = p["kernel"].shape
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        w = np.asarray(p["kernel"])
        assert np.abs(w).max() <= limit and np.abs(w).max() > 0.9 * limit
        np.testing.assert_array_equal(np.asarray(p["bias"]), 0.0)
    # the 100 x 100 layer: 10,000 draws of U(±limit), variance limit²/3 = 0.01, sd of the
    # sample variance ≈ 0.01·sqrt(0.8/10000) ≈ 9e-5; allow 5 sd
    assert abs(float(np.var(np.asarray(layers[1]["kernel"]))) - 0.01) < 5e-4
    np.testing.assert_array_equal(np.asarray(params["log_std"]), -0.5)


def _mean_return(net: GaussianMLP, params, key, goals: int = 40, trajs: int = 40) -> float:
    """Return per 100-step trajectory on nav2d, averaged over goals and sampled trajectories."""
    env = Navigation2D()
    goal_keys, noise_key = jax.random.split(key)

    def trajectory(task, noise):
        def step(pos, eps):
            mean, log_std = net.apply(params, pos)
            pos = pos + jnp.clip(0.1 * (mean + jnp.exp(log_std) * eps), -0.1, 0.1)
            return pos, -jnp.linalg.norm(pos - task.goal)

        return jax.lax.scan(step, jnp.zeros(2), noise)[1].sum()

    tasks = jax.vmap(env.sample_task)(jax.random.split(goal_keys, goals))
    noise = jax.random.normal(noise_key, (goals, trajs, 100, 2))
    per_goal = jax.vmap(lambda t, n: jax.vmap(lambda e: trajectory(t, e))(n).mean())
    return float(jax.jit(per_goal)(tasks, noise).mean())


def test_untrained_policy_is_close_to_a_zero_mean_random_walk():
    """The authors' random-init row starts at −82.7 before adaptation, near the −73 of a
    zero-mean σ = 1 policy. With Flax's default LeCun-normal weights the untrained mean drifts
    the point away (about −139 over 8 seeds, from −91 to −197); with Glorot-uniform weights 8
    seeds gave −74 to −85. The mean over 4 seeds must lie above −95."""
    net = GaussianMLP(hidden=(100, 100), action_dim=2)
    inits = [net.init(jax.random.PRNGKey(s), jnp.zeros((2,))) for s in range(4)]
    returns = [_mean_return(net, p, jax.random.PRNGKey(50 + s)) for s, p in enumerate(inits)]
    assert np.mean(returns) > -95.0, returns


def test_kernel_init_choice():
    x = jnp.zeros((2,))
    lecun = GaussianMLP(hidden=(100,), kernel_init="lecun_normal").init(jax.random.PRNGKey(0), x)
    w = np.asarray(lecun["params"]["Dense_0"]["kernel"])
    assert np.abs(w).max() > np.sqrt(6.0 / 102)  # beyond any Glorot-uniform weight of this layer
    with pytest.raises(ValueError, match="kernel_init"):
        GaussianMLP(kernel_init="orthogonal").init(jax.random.PRNGKey(0), x)
