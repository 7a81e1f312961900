"""Tests of the RL² trial wrapper: episode counting, task changes, resets, the policy-input layout,
and gymnax's own environments under jit and vmap."""

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from adaptax.envs import (
    BanditParams,
    BernoulliBandit,
    MDPParams,
    Navigation2D,
    NavigationParams,
    TabularMDP,
    Trial,
    TrialParams,
    instances,
    policy_input_size,
)
from adaptax.envs.wrappers import flatten_input


def _run(trial, state, actions, seed=0):
    """Scans `trial.step` over `actions`; returns per-step obs, reward, done, info and states."""

    def body(state, inputs):
        key, action = inputs
        obs, state, reward, done, info = trial.step(key, state, action)
        return state, (flatten_input(obs), reward, done, info, state)

    keys = jax.random.split(jax.random.PRNGKey(seed), len(actions))
    _, out = jax.jit(lambda s, k, a: jax.lax.scan(body, s, (k, a)))(state, keys, actions)
    return out


def test_bandit_trial_counts_episodes_and_changes_task_between_trials():
    trial = Trial(BernoulliBandit(num_arms=3), episodes=4)
    _, state = trial.reset(jax.random.PRNGKey(0))
    obs, reward, done, info, states = _run(trial, state, jnp.zeros(10, jnp.int32))
    # one pull = one episode: every step ends an episode; the trial ends every 4th step
    assert bool(jnp.all(info["episode_done"]))
    np.testing.assert_array_equal(info["episode"], [0, 1, 2, 3, 0, 1, 2, 3, 0, 1])
    np.testing.assert_array_equal(done, [0, 0, 0, 1, 0, 0, 0, 1, 0, 0])
    np.testing.assert_array_equal(info["trial_done"], done)
    np.testing.assert_array_equal(states.time, [1, 2, 3, 0, 1, 2, 3, 0, 1, 2])
    probs = np.asarray(states.task.probs)  # task after each step
    initial = np.asarray(state.task.probs)
    # unchanged within a trial (steps 0-2 carry the initial task, 3-6 the second, 7-9 the third)
    for block, first in [(slice(0, 3), initial), (slice(3, 7), probs[3]), (slice(7, 10), probs[7])]:
        np.testing.assert_array_equal(probs[block], np.broadcast_to(first, probs[block].shape))
    # and changed after each trial
    assert not np.allclose(initial, probs[3]) and not np.allclose(probs[3], probs[7])


def test_bandit_policy_input_layout_by_value():
    # deterministic arms: arm 1 always pays 1, arms 0 and 2 never pay
    trial = Trial(BernoulliBandit(num_arms=3), episodes=3)
    obs0, state = trial.reset_to_task(
        jax.random.PRNGKey(0), BanditParams(jnp.array([0.0, 1.0, 0.0]))
    )
    # layout: [inner obs (1) | one-hot previous action (3) | previous reward | episode-done flag]
    np.testing.assert_array_equal(flatten_input(obs0), [0, 0, 0, 0, 0, 0])
    assert policy_input_size(trial) == 6
    obs, reward, done, info, _ = _run(trial, state, jnp.array([1, 2, 1, 0]))
    np.testing.assert_array_equal(obs[0], [0, 0, 1, 0, 1, 1])  # pulled arm 1, got 1, episode ended
    np.testing.assert_array_equal(obs[1], [0, 0, 0, 1, 0, 1])  # pulled arm 2, got 0
    # step 2 ends the trial: reward 1 still comes from the old task (arm 1 of [0, 1, 0]), and the
    # observation starts the next trial: zero previous action, reward and done flag
    assert float(reward[2]) == 1.0 and bool(done[2])
    np.testing.assert_array_equal(obs[2], [0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(obs[3][1:4], [1, 0, 0])  # the new trial's first pull: arm 0
    np.testing.assert_array_equal(obs[3][4], reward[3])


def _cyclic_mdp_task():
    """S = 3, A = 2: action a moves s to (s + a + 1) mod 3; μ(s, a) = 10 s + a."""
    s, a = np.meshgrid(np.arange(3), np.arange(2), indexing="ij")
    transition = np.eye(3, dtype=np.float32)[(s + a + 1) % 3]
    return MDPParams(reward_mean=jnp.asarray(10.0 * s + a, jnp.float32), transition=transition)


def test_mdp_policy_input_layout_and_reset_between_episodes():
    trial = Trial(TabularMDP(num_states=3, num_actions=2, horizon=2), episodes=2)
    task = _cyclic_mdp_task()
    obs0, state = trial.reset_to_task(jax.random.PRNGKey(0), task)
    # layout: [one-hot state (3) | one-hot previous action (2) | previous reward | done flag]
    np.testing.assert_array_equal(flatten_input(obs0), [1, 0, 0, 0, 0, 0, 0])
    assert policy_input_size(trial) == 7
    actions = jnp.array([1, 0, 0, 1, 1])
    obs, reward, done, info, states = _run(trial, state, actions)
    r = np.asarray(reward)
    # step 0: s=0, a=1 -> s=2 (2 = (0+1+1) mod 3); reward ~ N(1, 1)
    np.testing.assert_allclose(obs[0], [0, 0, 1, 0, 1, r[0], 0])
    # step 1: s=2, a=0 -> s=0, ends episode 0 (horizon 2): the inner env is reset to state 0 on the
    # same task; the flag is 1 and the last action and reward are still shown
    np.testing.assert_allclose(obs[1], [1, 0, 0, 1, 0, r[1], 1])
    assert bool(info["episode_done"][1]) and not bool(done[1])
    assert int(states.env_state.state[1]) == 0 and int(states.env_state.time[1]) == 0
    np.testing.assert_array_equal(states.task.transition[1], task.transition)
    np.testing.assert_array_equal(states.task.reward_mean[1], task.reward_mean)
    # step 2: s=0, a=0 -> s=1; step 3 (s=1, a=1 -> s=0) ends episode 1 and so the trial
    np.testing.assert_allclose(obs[2], [0, 1, 0, 1, 0, r[2], 0])
    np.testing.assert_array_equal(info["episode"], [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(done, [0, 0, 0, 1, 0])
    np.testing.assert_allclose(obs[3], [1, 0, 0, 0, 0, 0, 0])  # a new trial: zeros after the state
    assert not np.allclose(states.task.transition[3], task.transition)  # a newly sampled task
    # rewards follow the old task up to the trial's end: means 1, 20, 0, 11 (5 sd bands of N(μ, 1))
    np.testing.assert_array_less(np.abs(r[:4] - np.array([1.0, 20.0, 0.0, 11.0])), 5.0)


def test_box_action_policy_input_is_the_clipped_action_vector():
    trial = Trial(Navigation2D(), episodes=2)
    obs0, state = trial.reset_to_task(
        jax.random.PRNGKey(0), NavigationParams(jnp.array([0.3, -0.2]))
    )
    np.testing.assert_array_equal(flatten_input(obs0), [0, 0, 0, 0, 0, 0])
    obs, state, reward, done, info = trial.step(
        jax.random.PRNGKey(1), state, jnp.array([0.5, -3.0])
    )
    # the structured input: the inner observation as it is, then the previous step's parts
    np.testing.assert_allclose(obs.obs, [0.05, -0.1], rtol=1e-6)
    assert obs.time is None and float(obs.prev_done) == 0.0
    # pos (0.05, -0.1) | previous action clipped to [-1, 1]: (0.5, -1.0) | reward -0.269258 | 0
    np.testing.assert_allclose(flatten_input(obs), [0.05, -0.1, 0.5, -1.0, -np.sqrt(0.0725), 0.0],
                               rtol=1e-6)
    assert bool(trial.observation_space().contains(obs))
    assert not bool(trial.observation_space().contains(obs._replace(prev_done=jnp.array(2.0))))


def test_vmapped_reset_to_task_on_evaluation_instances():
    env = BernoulliBandit(num_arms=3)
    trial = Trial(env, episodes=5)
    tasks = instances(env, 6)
    keys = jax.random.split(jax.random.PRNGKey(0), 6)
    obs, state = jax.jit(jax.vmap(trial.reset_to_task))(keys, tasks)
    np.testing.assert_array_equal(state.task.probs, tasks.probs)  # instance i in trial i
    np.testing.assert_array_equal(jax.vmap(flatten_input)(obs), np.zeros((6, 6)))
    np.testing.assert_array_equal(state.episode, np.zeros(6))


def test_custom_task_sampler_and_validation():
    fixed = BanditParams(probs=jnp.array([0.25, 0.75]))
    trial = Trial(BernoulliBandit(num_arms=2), episodes=1, sample_task=lambda key: fixed)
    _, state = trial.reset(jax.random.PRNGKey(0))
    np.testing.assert_array_equal(state.task.probs, fixed.probs)
    with pytest.raises(ValueError, match="episodes"):
        Trial(BernoulliBandit(num_arms=2), episodes=0)
    with pytest.raises(ValueError, match="gymnax-API"):
        Trial(object(), episodes=2)
    with pytest.raises(ValueError, match="reset_to_task"):
        trial.reset(jax.random.PRNGKey(0), fixed)  # the inner task is not the trial's params
    assert isinstance(trial.default_params, TrialParams)


def test_trial_over_gymnax_cartpole_under_jit_and_vmap():
    env, _ = gymnax.make("CartPole-v1")
    trial = Trial(env, episodes=2)  # gymnax has no sample_task: every trial uses default_params
    assert policy_input_size(env) == 4 + 2 + 2
    batch, steps = 3, 120
    keys = jax.random.split(jax.random.PRNGKey(0), batch)
    obs0, state0 = jax.jit(jax.vmap(trial.reset))(keys)
    actions = jax.random.randint(jax.random.PRNGKey(1), (batch, steps), 0, 2)
    step_keys = jax.random.split(jax.random.PRNGKey(2), batch)

    def rollout(state, actions, key):
        def body(state, inputs):
            k, a = inputs
            obs, state, reward, done, info = trial.step(k, state, a)
            return state, (flatten_input(obs), reward, done, info, state)

        return jax.lax.scan(body, state, (jax.random.split(key, steps), actions))[1]

    obs, reward, done, info, states = jax.jit(jax.vmap(rollout))(state0, actions, step_keys)
    assert obs.shape == (batch, steps, 8)
    assert bool(jnp.all(jnp.isfinite(obs)))
    # vmap agrees with a single unbatched run
    single = jax.jit(rollout)(jax.tree.map(lambda x: x[1], state0), actions[1], step_keys[1])
    np.testing.assert_allclose(single[0], obs[1], rtol=1e-6, atol=1e-6)
    for b in range(batch):
        ep_done = np.asarray(info["episode_done"][b])
        trial_done = np.asarray(done[b])
        # random CartPole episodes last ~20 steps, so 120 steps hold several trials
        assert ep_done.sum() >= 4
        # every 2nd episode end is a trial end, and only those
        np.testing.assert_array_equal(np.flatnonzero(trial_done), np.flatnonzero(ep_done)[1::2])
        np.testing.assert_array_equal(info["episode"][b], (np.cumsum(ep_done) - ep_done) % 2)
        # the policy input: the inner observation, one-hot action, reward, done flag (0 at a trial
        # start, where the previous fields are all zero)
        a = np.asarray(actions[b])
        inner_end = ep_done & ~trial_done
        np.testing.assert_array_equal(obs[b][:, 7], inner_end.astype(np.float32))
        live = ~trial_done
        np.testing.assert_array_equal(obs[b][live, 4:6], np.eye(2)[a[live]])
        np.testing.assert_array_equal(obs[b][live, 6], np.asarray(reward[b])[live])
        np.testing.assert_array_equal(obs[b][trial_done, 4:], 0.0)
        # the inner env was reset at every episode end: a fresh cart (|x| <= 0.05, time 0)
        x, time = np.asarray(states.env_state.x[b]), np.asarray(states.env_state.time[b])
        assert np.all(np.abs(x[ep_done]) <= 0.05) and np.all(time[ep_done] == 0)
        np.testing.assert_allclose(obs[b][:, 0], x, rtol=1e-6)
