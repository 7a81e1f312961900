"""The sampler seam: native MuJoCo in lockstep, and MAML-RL's host path equal to its traced one."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from adaptax.envs.navigation2d import Navigation2D
from adaptax.nets.gaussian_mlp import GaussianMLP
from adaptax.rl import maml_rl as mr

pytest.importorskip("mujoco", reason="the mujoco extra (make test installs it)")

from adaptax.envs.locomotion import Locomotion  # noqa: E402
from adaptax.rl.mujoco_sampler import MujocoSampler  # noqa: E402


def _draw(sampler, net, batch, trajs, seed=0, shared=True):
    env = sampler.env
    params = net.init(jax.random.PRNGKey(seed), jnp.zeros((env.obs_dim,)))
    tasks = sampler.sample_tasks(jax.random.PRNGKey(seed + 1), batch)
    keys = jax.random.split(jax.random.PRNGKey(seed + 2), batch)
    return params, tasks, keys, sampler(net.apply, params, tasks, keys, trajs, shared)


def test_rollouts_are_a_pure_function_of_the_keys_whatever_the_threads():
    env = Locomotion("half_cheetah", "velocity", horizon=15)
    net = GaussianMLP(hidden=(8,), action_dim=6)
    one = _draw(MujocoSampler(env, threads=1), net, 3, 2)[3]
    two = _draw(MujocoSampler(env, threads=2), net, 3, 2)[3]
    assert one.obs.shape == (3, 2, 15, 20) and one.action.shape == (3, 2, 15, 6)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # the recorded log-probabilities are the policy's, and the rewards the environment's
    params = net.init(jax.random.PRNGKey(0), jnp.zeros((20,)))
    mean, log_std = net.apply(params, one.obs)
    z = (one.action - mean) / jnp.exp(log_std)
    logp = jnp.sum(-0.5 * z**2 - log_std - 0.5 * np.log(2 * np.pi), -1)
    np.testing.assert_allclose(one.log_prob, logp, rtol=1e-4, atol=1e-4)
    different = _draw(MujocoSampler(env), net, 3, 2, seed=5)[3]
    assert not np.allclose(np.asarray(one.obs), np.asarray(different.obs))


def test_per_task_parameters_act_per_task():
    env = Locomotion("half_cheetah", "direction", horizon=5)
    net = GaussianMLP(hidden=(8,), action_dim=6)
    sampler = MujocoSampler(env)
    params, tasks, keys, shared = _draw(sampler, net, 2, 2)
    stacked = jax.tree_util.tree_map(lambda x: jnp.stack([x, x]), params)
    per_task = sampler(net.apply, stacked, tasks, keys, 2, shared=False)
    np.testing.assert_allclose(np.asarray(per_task.obs), np.asarray(shared.obs), atol=1e-6)


def test_an_ended_episode_stops_and_is_marked_done():
    # an ant whose torso leaves [0.2, 1] ends its episode; its later steps repeat the last
    # observation with reward 0, and `done` stays set (the learner masks them)
    env = Locomotion("ant", "velocity", horizon=120)
    net = GaussianMLP(hidden=(8,), action_dim=8, init_log_std=1.0)  # σ ≈ 2.7: it falls over
    out = _draw(MujocoSampler(env), net, 2, 4)[3]
    done = np.asarray(out.done)
    ended = done.any(-1)
    assert ended.any(), "no episode ended; the test needs one"
    for b, k in zip(*np.nonzero(ended), strict=True):
        t = int(np.argmax(done[b, k]))
        assert done[b, k, t:].all()
        assert np.all(np.asarray(out.reward)[b, k, t + 1:] == 0)
        obs = np.asarray(out.obs)[b, k]
        assert np.all(obs[t + 1:] == obs[t + 1]) and np.isfinite(obs).all()


@dataclasses.dataclass(frozen=True)
class _HostEnvSampler(mr.EnvSampler):
    """2D navigation through MAML-RL's host path (as a MuJoCo sampler is driven)."""

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "traceable", False)


def test_the_host_path_trains_to_the_numbers_of_the_traced_one():
    net = GaussianMLP(hidden=(8,), action_dim=2, init_log_std=-0.3)
    algo = mr.MAMLRL(meta_batch=3, num_trajs=4, inner_lr=0.1, cg_iters=4, fvp_subsample=0.5)
    params = net.init(jax.random.PRNGKey(0), jnp.zeros(2))
    out = {}
    for name, cls in (("traced", mr.EnvSampler), ("host", _HostEnvSampler)):
        learner = mr.make_maml_rl(algo, net.apply, cls(Navigation2D(horizon=10)))
        out[name] = learner.run(learner.init(jax.random.PRNGKey(1), params), 2)
    (s1, m1), (s2, m2) = out["traced"], out["host"]
    assert float(jnp.abs(ravel_pytree(s1.params)[0] - ravel_pytree(params)[0]).max()) > 1e-4
    np.testing.assert_allclose(ravel_pytree(s1.params)[0], ravel_pytree(s2.params)[0],
                               rtol=1e-3, atol=1e-5)
    for a, b in zip(m1, m2, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-3, atol=1e-5)
    assert int(s2.iteration) == 2


def test_maml_rl_meta_iteration_on_mujoco():
    env = Locomotion("half_cheetah", "velocity", horizon=20)
    net = GaussianMLP(hidden=(16,), action_dim=6)
    algo = mr.MAMLRL(meta_batch=2, num_trajs=3, cg_iters=3)
    learner = mr.make_maml_rl(algo, net.apply, MujocoSampler(env),
                              lambda k: net.init(k, jnp.zeros((20,))))
    state, metrics = learner.run(learner.init(jax.random.PRNGKey(0)), 2)
    assert metrics.kl.shape == (2,) and np.all(np.asarray(metrics.kl) <= algo.max_kl * 1.01)
    assert np.isfinite(np.asarray(metrics.loss)).all() and int(state.iteration) == 2
    # returns: ~20 steps of −|v − g| − 0.05|a|², so between −20·(2 + 0.3·6) and 0
    assert -80 < float(metrics.pre_return[0]) < 0
