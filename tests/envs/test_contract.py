"""The environment contract: every registered env (and its RL² trial) goes through
make → jit(reset) → jit(step) under vmap over a batch of keys and tasks, with finite,
deterministic, in-space outputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from adaptax.envs import Trial, instances, make, policy_input_size, registered
from adaptax.envs.wrappers import flatten_input

BATCH, STEPS = 8, 12
SMALL = {"tabular-mdp": {"num_states": 4, "num_actions": 3, "horizon": 3}}


def _check(env):
    """Compiles vmapped reset/step once, then rolls out three times (seeds 0, 0, 1)."""
    tasks = instances(env, BATCH, start_seed=100)
    reset = jax.jit(jax.vmap(env.reset))
    step = jax.jit(jax.vmap(env.step))
    contains = jax.jit(jax.vmap(env.observation_space(env.default_params).contains))
    sample_actions = jax.jit(jax.vmap(env.action_space(env.default_params).sample))

    def rollout(seed):
        obs, state = reset(jax.random.split(jax.random.PRNGKey(seed), BATCH), tasks)
        assert bool(jnp.all(contains(obs)))
        trace = [obs]
        for t in range(STEPS):
            key_act, key_step = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(seed), t))
            actions = sample_actions(jax.random.split(key_act, BATCH))
            keys = jax.random.split(key_step, BATCH)
            obs, state, reward, done, _ = step(keys, state, actions, tasks)
            assert bool(jnp.all(contains(obs)))
            assert reward.shape == (BATCH,) and reward.dtype == jnp.float32
            assert done.shape == (BATCH,) and done.dtype == jnp.bool_
            trace += [obs, reward, done]
        return trace

    trace = rollout(0)
    first = jax.tree.leaves(trace)  # observations may be pytrees (an RL² trial's input)
    for leaf in first:
        assert bool(jnp.all(jnp.isfinite(leaf)))
    again = jax.tree.leaves(rollout(0))  # deterministic under a key
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    other = rollout(1)  # and the key matters: the rewards differ
    assert not all(np.array_equal(a, b) for a, b in zip(trace[2::3], other[2::3], strict=True))
    return trace[0]


@pytest.mark.parametrize("name", registered())
def test_registered_environment_contract(name):
    env = make(name, **SMALL.get(name, {}))
    assert env.observation_space().dtype == jnp.float32
    _check(env)


@pytest.mark.parametrize("name", registered())
def test_trial_over_registered_environment_contract(name):
    env = make(name, **SMALL.get(name, {}))
    trial = Trial(env, episodes=2)
    obs = jax.vmap(flatten_input)(_check(trial))
    assert obs.shape == (BATCH, policy_input_size(env)) and obs.dtype == jnp.float32
