"""rollout equals a slow step-by-step Python loop; jit = no-jit; vmap = per stream; resets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from adaptax.envs import BernoulliBandit, TabularMDP, Trial
from adaptax.rl.losses import categorical_log_prob
from adaptax.rl.rollout import RolloutCarry, Trajectory, rollout

W = jax.random.normal(jax.random.PRNGKey(42), (10, 5))


def counting_policy(params, carry, obs, key):
    """Logits W·obs, plus a carry that counts steps (to check the carry is threaded)."""
    logits = obs @ params
    action = jax.random.categorical(key, logits)
    return carry + 1, action, categorical_log_prob(logits, action), jnp.sum(obs) + carry


def slow_rollout(env, params, policy, carry, num_steps):
    """The obvious Python loop the scan must match, step by step."""
    env_state, obs, pc, key = carry
    out = {k: [] for k in ("obs", "action", "reward", "done", "log_prob", "value")}
    for _ in range(num_steps):
        key, key_policy, key_env = jax.random.split(key, 3)
        new_pc, action, log_prob, value = policy(params, pc, obs, key_policy)
        next_obs, env_state, reward, done, _ = env.step(key_env, env_state, action, params_env)
        for name, v in zip(out, (obs, action, reward, done, log_prob, value), strict=True):
            out[name].append(np.asarray(v))
        obs, pc = next_obs, new_pc
    return pc, {k: np.stack(v) for k, v in out.items()}


env_mdp = TabularMDP(num_states=10, num_actions=5, horizon=3)
params_env = env_mdp.sample_task(jax.random.PRNGKey(0))


def start(key=1):
    obs, state = env_mdp.reset(jax.random.PRNGKey(key), params_env)
    return RolloutCarry(state, obs, jnp.array(0.0), jax.random.PRNGKey(key + 100))


@pytest.mark.parametrize("jit", [False, True])
def test_rollout_equals_a_slow_python_loop(jit):
    fn = lambda c: rollout(env_mdp, params_env, counting_policy, W, c, 7)  # noqa: E731
    final, traj = (jax.jit(fn) if jit else fn)(start())
    pc, slow = slow_rollout(env_mdp, W, counting_policy, start(), 7)
    for name in slow:
        np.testing.assert_allclose(np.asarray(getattr(traj, name)), slow[name], rtol=1e-6)
    # horizon 3: the episode ends at steps 2 and 5 (0-based) and nowhere else
    assert traj.done.tolist() == [False, False, True, False, False, True, False]
    assert float(final.policy_carry) == float(pc) == 7.0
    # the stored obs is the one the action was taken in: one-hot of state 0 at each episode start
    assert traj.obs[0, 0] == 1.0 and traj.obs[3, 0] == 1.0 and traj.obs[6, 0] == 1.0


def test_vmap_over_streams_equals_each_stream():
    carries = jax.tree.map(lambda *x: jnp.stack(x), start(1), start(2), start(3))
    _, batched = jax.vmap(lambda c: rollout(env_mdp, params_env, counting_policy, W, c, 5))(
        carries)
    for i, k in enumerate((1, 2, 3)):
        _, single = rollout(env_mdp, params_env, counting_policy, W, start(k), 5)
        row = jax.tree.map(lambda x, i=i: x[i], batched)
        for a, b in zip(jax.tree.leaves(single), jax.tree.leaves(row), strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)


def test_reset_policy_carry_zeroes_the_carry_after_each_done():
    # horizon 3: the counter runs 1, 2, 3 → reset to 0 after the step that ends the episode;
    # the value output is sum(obs) + carry = 1 + (steps since the episode start).
    _, traj = rollout(env_mdp, params_env, counting_policy, W, start(), 7,
                      reset_policy_carry=lambda c: jnp.zeros_like(c))
    assert traj.value.tolist() == [1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 1.0]


def test_feedforward_policy_and_trial_info_pass_through():
    trial = Trial(BernoulliBandit(num_arms=3), episodes=4)
    obs, state = trial.reset(jax.random.PRNGKey(0))
    uniform = lambda p, c, o, k: (c, jax.random.randint(k, (), 0, 3), jnp.log(1 / 3), 0.0)  # noqa
    _, traj = rollout(trial, None, uniform, None, RolloutCarry(state, obs, None,
                                                                jax.random.PRNGKey(1)), 8)
    assert isinstance(traj, Trajectory)
    # 4 pulls per trial: trials end after steps 3 and 7; every pull is an episode end
    assert traj.info["trial_done"].tolist() == [False, False, False, True] * 2
    assert traj.info["episode"].tolist() == [0, 1, 2, 3] * 2
    assert traj.info["episode_done"].all()
    # the policy input carries the previous action one-hot: prev_action[t+1][a_t] = 1 in a trial
    for t in (0, 1, 2, 4, 5, 6):
        assert traj.obs.prev_action[t + 1, int(traj.action[t])] == 1.0


def test_num_steps_is_validated():
    with pytest.raises(ValueError, match="num_steps must be an integer >= 1"):
        rollout(env_mdp, params_env, counting_policy, W, start(), 0)
