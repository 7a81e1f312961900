"""Tests of 2D navigation: hand-worked steps, the done box, horizon, goals, a slow reference."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from adaptax.envs import Navigation2D, NavigationParams, instances


def _step(env, state, action, goal):
    task = NavigationParams(goal=jnp.asarray(goal, jnp.float32))
    return env.step(jax.random.PRNGKey(0), state, jnp.asarray(action, jnp.float32), task)


def test_hand_worked_step_with_clipping():
    env = Navigation2D()
    goal = [0.3, -0.2]
    obs, state = env.reset(jax.random.PRNGKey(0), NavigationParams(goal=jnp.asarray(goal)))
    np.testing.assert_array_equal(obs, [0.0, 0.0])
    # action (0.5, -3.0) -> velocity (clip(0.05), clip(-0.3)) = (0.05, -0.1); pos = (0.05, -0.1)
    # (dx, dy) = (0.05 - 0.3, -0.1 + 0.2) = (-0.25, 0.1); reward = -sqrt(0.0625 + 0.01) = -0.269258
    obs, state, reward, done, _ = _step(env, state, [0.5, -3.0], goal)
    np.testing.assert_allclose(obs, [0.05, -0.1], rtol=1e-6)
    np.testing.assert_allclose(float(reward), -np.sqrt(0.0725), rtol=1e-6)
    assert not bool(done) and int(state.time) == 1
    # a second step with (-1, 1) -> velocity (-0.1, 0.1): pos = (-0.05, 0.0),
    # (dx, dy) = (-0.35, 0.2), reward = -sqrt(0.1225 + 0.04) = -0.403113
    obs, state, reward, done, _ = _step(env, state, [-1.0, 1.0], goal)
    np.testing.assert_allclose(obs, [-0.05, 0.0], atol=1e-7)
    np.testing.assert_allclose(float(reward), -np.sqrt(0.1625), rtol=1e-6)


def test_oracle_observation_appends_the_goal():
    env = Navigation2D(oracle=True)
    goal = [0.3, -0.2]
    obs, state = env.reset(jax.random.PRNGKey(0), NavigationParams(goal=jnp.asarray(goal)))
    np.testing.assert_allclose(obs, [0.0, 0.0, 0.3, -0.2], rtol=1e-6)
    obs, *_ = _step(env, state, [0.5, -3.0], goal)
    np.testing.assert_allclose(obs, [0.05, -0.1, 0.3, -0.2], rtol=1e-6)


@pytest.mark.parametrize(
    "goal, done",
    [
        # after action (1, 0) the point is at (0.1, 0)
        ([0.105, 0.0], True),  # |dx| = 0.005 < 0.01
        ([0.115, 0.0], False),  # |dx| = 0.015
        ([0.109, 0.009], True),  # |dx| = |dy| = 0.009: inside the box although the distance 0.0127
        ([0.1, 0.011], False),  # |dy| = 0.011
    ],
)
def test_done_box_threshold(goal, done):
    env = Navigation2D()
    _, state = env.reset(jax.random.PRNGKey(0), NavigationParams(goal=jnp.asarray(goal)))
    obs, state, reward, got_done, _ = _step(env, state, [1.0, 0.0], goal)
    assert bool(got_done) == done
    np.testing.assert_allclose(
        float(reward), -np.hypot(0.1 - goal[0], goal[1]), rtol=1e-5, atol=1e-7
    )
    if done:  # auto-reset to the origin
        np.testing.assert_array_equal(obs, [0.0, 0.0])
        assert int(state.time) == 0


def test_horizon_ends_the_episode():
    env = Navigation2D(horizon=100)
    task = NavigationParams(goal=jnp.array([0.4, 0.4]))
    _, state0 = env.reset(jax.random.PRNGKey(0), task)

    def body(state, key):
        obs, state, reward, done, _ = env.step(key, state, jnp.zeros(2), task)
        return state, done

    _, dones = jax.lax.scan(body, state0, jax.random.split(jax.random.PRNGKey(1), 205))
    # standing still never reaches the goal: done exactly at steps 100 and 200 (indices 99, 199)
    np.testing.assert_array_equal(np.flatnonzero(np.asarray(dones)), [99, 199])


def test_rollout_agrees_with_the_authors_numpy_rules():
    """Random actions through the env vs a plain loop over point_env_randgoal + normalize."""
    env = Navigation2D(horizon=30)
    goal = np.array([0.12, -0.08], np.float32)
    task = NavigationParams(goal=jnp.asarray(goal))
    actions = 1.5 * jax.random.normal(jax.random.PRNGKey(3), (70, 2))  # many outside [-1, 1]
    _, state0 = env.reset(jax.random.PRNGKey(0), task)

    def body(state, action):
        obs, state, reward, done, _ = env.step(jax.random.PRNGKey(0), state, action, task)
        return state, (obs, reward, done)

    _, (obs, rewards, dones) = jax.lax.scan(body, state0, actions)

    pos, t = np.zeros(2, np.float32), 0
    exp_obs, exp_rewards, exp_dones = [], [], []
    for a in np.asarray(actions):
        scaled = np.clip(
            -0.1 + (a + 1.0) * 0.5 * 0.2, -0.1, 0.1
        )  # rllab normalize, lb=-0.1, ub=0.1
        pos, t = pos + scaled.astype(np.float32), t + 1
        x, y = pos - goal
        done = (abs(x) < 0.01 and abs(y) < 0.01) or t == 30
        exp_rewards.append(-((x**2 + y**2) ** 0.5))
        exp_dones.append(done)
        if done:
            pos, t = np.zeros(2, np.float32), 0
        exp_obs.append(pos.copy())
    np.testing.assert_allclose(obs, np.array(exp_obs), atol=1e-6)
    np.testing.assert_allclose(rewards, np.array(exp_rewards), atol=1e-6)
    np.testing.assert_array_equal(dones, np.array(exp_dones))


def test_goal_distribution_is_uniform_on_the_square():
    goals = np.asarray(instances(Navigation2D(), 3000).goal)
    assert goals.shape == (3000, 2)
    for coordinate in goals.T:  # KS against U[-0.5, 0.5]; a fixed key gives a fixed p-value
        assert stats.kstest(coordinate, "uniform", args=(-0.5, 1.0)).pvalue > 1e-3
    # independent coordinates: correlation sd ≈ 1/sqrt(3000) ≈ 0.018
    assert abs(np.corrcoef(goals.T)[0, 1]) < 0.09


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="oracle"):
        Navigation2D(oracle=1)
    with pytest.raises(ValueError, match="horizon"):
        Navigation2D(horizon=0)
    env = Navigation2D()
    _, state = env.reset(jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        env.step(jax.random.PRNGKey(0), state, jnp.zeros(3))
