"""RL² learner: hidden state across episodes / trials in the learner's data, TRPO KL bound, a tiny
bandit run that beats random, and no recompilation."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from adaptax.envs import BernoulliBandit, TabularMDP, Trial, instances
from adaptax.envs.wrappers import flatten_input
from adaptax.rl.losses import categorical_kl, masked_mean
from adaptax.rl.rl2 import (
    RL2Settings,
    collect,
    evaluate,
    iteration,
    learner_inputs,
    policy_step,
    prepare,
    rl2_agent,
    rl2_learner,
    trial_length,
    update,
)
from adaptax.rl.rollout import RolloutCarry, rollout

TINY = dict(hidden_size=16, embed_size=16, trials_per_batch=8, minibatches=2, epochs=1)
MDP = TabularMDP(num_states=4, num_actions=3, horizon=2)


def test_trial_length():
    assert trial_length(BernoulliBandit(5), 10) == 10  # one pull per episode
    assert trial_length(MDP, 3) == 6  # 3 episodes × horizon 2
    with pytest.raises(ValueError, match="episodes must be an integer >= 1"):
        trial_length(MDP, 0)


def test_settings_are_validated():
    with pytest.raises(ValueError, match="minibatches .* must divide trials_per_batch"):
        RL2Settings(trials_per_batch=10, minibatches=4)
    with pytest.raises(ValueError, match="algorithm must be 'ppo' or 'trpo'"):
        RL2Settings(algorithm="a2c")
    with pytest.raises(ValueError, match="lam must lie in"):
        RL2Settings(lam=1.5)


def test_hidden_state_survives_episode_boundaries_in_the_learners_data():
    agent = rl2_agent(MDP, 3, RL2Settings(**TINY))
    learner = rl2_learner(agent)
    state = learner.init(jax.random.PRNGKey(0))
    tasks = instances(MDP, 8)
    traj = jax.jit(partial(collect, agent))(state.params, tasks, jax.random.PRNGKey(1))
    batch = jax.jit(partial(prepare, agent))(traj)  # time-major [T = 6, B = 8]
    # The unroll is reset only at the trial start, never at the episode ends (t = 1, 3).
    assert batch.resets[:, 0].tolist() == [True, False, False, False, False, False]
    assert traj.info["episode_done"][0].tolist() == [False, True, False, True, False, True]
    # ... while the policy input does carry the episode-done flag d_{t−1}.
    assert batch.xs.prev_done[:, 0].tolist() == [0.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    assert batch.mask.min() == 1.0  # fixed-length trial: every step counts
    # Recomputing with exactly those resets reproduces what the rollout saw ...
    carry = agent.network.init_carry(8)
    _, logits, values = agent.network.unroll(state.params, carry, batch.xs, batch.resets)
    np.testing.assert_allclose(values, batch.value, rtol=1e-5, atol=1e-6)
    logp = jax.nn.log_softmax(logits)[..., :][jnp.arange(6)[:, None], jnp.arange(8), batch.action]
    np.testing.assert_allclose(logp, batch.log_prob, rtol=1e-5, atol=1e-6)
    # ... and resetting at episode boundaries instead would change it: the state carried over.
    episode_resets = batch.resets.at[2].set(True).at[4].set(True)
    _, _, values_reset = agent.network.unroll(state.params, carry, batch.xs, episode_resets)
    np.testing.assert_allclose(values_reset[:2], batch.value[:2], rtol=1e-5)
    assert np.abs(values_reset[2] - batch.value[2]).min() > 1e-5


def test_hidden_state_is_reset_at_a_trial_boundary():
    # Two consecutive trials of the full Trial (auto-reset draws the next task), with the
    # rollout zeroing the carry at trial_done: learner_inputs marks the reset at t = T.
    agent = rl2_agent(MDP, 2, RL2Settings(**TINY))
    learner = rl2_learner(agent)
    params = learner.init(jax.random.PRNGKey(0)).params
    trial = Trial(MDP, episodes=2)
    obs, env_state = trial.reset(jax.random.PRNGKey(3))
    net = agent.network
    carry = RolloutCarry(env_state, obs, net.init_carry(), jax.random.PRNGKey(4))
    _, traj = jax.jit(lambda c: rollout(trial, None, partial(policy_step, agent), params, c, 8,
                                        reset_policy_carry=lambda _: net.init_carry()))(carry)
    xs, resets, mask = learner_inputs(traj)
    assert resets.tolist() == [True, False, False, False, True, False, False, False]
    assert mask.tolist() == [1.0] * 4 + [0.0] * 4  # one trial per stream; the rest is masked
    _, _, values = net.unroll(params, net.init_carry(), xs, resets)
    np.testing.assert_allclose(values, traj.value, rtol=1e-5, atol=1e-6)
    # at t = 4 the state is fresh: the value equals a one-step unroll from zeros on x_4 alone
    _, _, fresh = net.unroll(params, net.init_carry(), jax.tree.map(lambda x: x[4:5], xs),
                             jnp.ones((1,), bool))
    np.testing.assert_allclose(values[4], fresh[0], rtol=1e-6)
    # and without the reset it would not
    _, _, no_reset = net.unroll(params, net.init_carry(), xs, resets.at[4].set(False))
    assert abs(float(no_reset[4] - fresh[0])) > 1e-5


def test_a_trpo_iteration_respects_the_kl_bound():
    settings = RL2Settings(**{**TINY, "trials_per_batch": 32}, algorithm="trpo", max_kl=0.01)
    agent = rl2_agent(BernoulliBandit(3), 5, settings)
    learner = rl2_learner(agent)
    state = learner.init(jax.random.PRNGKey(0))
    traj = jax.jit(partial(collect, agent))(
        state.params, instances(BernoulliBandit(3), 32), jax.random.PRNGKey(1))
    batch = jax.jit(partial(prepare, agent))(traj)
    new_state, metrics = jax.jit(partial(update, agent))(state, batch, jax.random.PRNGKey(2))
    carry = agent.network.init_carry(32)
    old_logits = agent.network.unroll(state.params, carry, batch.xs, batch.resets)[1]
    new_logits = agent.network.unroll(new_state.params, carry, batch.xs, batch.resets)[1]
    kl = float(masked_mean(categorical_kl(old_logits, new_logits), batch.mask))
    # a step was taken (the initial policy is near uniform, far from optimal) and it is inside
    # the trust region δ = 0.01; float32 recomputation error is far below 1e-5
    assert 0.0 < kl <= 0.01 + 1e-5
    np.testing.assert_allclose(kl, float(metrics.kl), rtol=1e-3)
    assert float(metrics.policy_loss) < 0.0  # the surrogate loss fell below its value 0 at θ_old
    # the value baseline was fitted: its parameters moved
    v_old = state.params["params"]["value_head"]["kernel"]
    assert float(jnp.abs(new_state.params["params"]["value_head"]["kernel"] - v_old).max()) > 0


def test_a_tiny_bandit_run_beats_random_and_does_not_recompile():
    env = BernoulliBandit(5)
    settings = RL2Settings(hidden_size=32, embed_size=32, trials_per_batch=128, minibatches=4,
                           epochs=4, lr=3e-3)
    agent = rl2_agent(env, 10, settings)
    learner = rl2_learner(agent)
    state = learner.init(jax.random.PRNGKey(0))
    tasks = instances(env, 1000)
    score = jax.jit(partial(evaluate, agent))
    before = float(score(state.params, tasks, jax.random.PRNGKey(7)).mean())
    state, _ = learner.run(state, 50)
    state, metrics = learner.run(state, 50)  # 100 iterations × 128 trials = 12,800 trials
    assert learner.run._cache_size() == 1  # the second call reused the compiled program
    assert int(state.iteration) == 100
    assert metrics.env_steps.tolist() == [1280.0] * 50  # 128 trials × 10 pulls per iteration
    after = jax.jit(partial(evaluate, agent))(state.params, tasks, jax.random.PRNGKey(7))
    # Random play scores n/2 = 5 in expectation (E p = 1/2 per pull); the near-uniform initial
    # policy scores ≈ 5 on these tasks. The per-trial total has std ≈ 1.9 (10 pulls, p ~ U[0,1]),
    # so the mean of 1000 trials has a standard error ≈ 0.06; greedy with a Beta(1,1) prior
    # reaches 6.6. A gain of 0.8 (> 10 standard errors) means the agent exploits what it learns.
    assert abs(before - 5.0) < 0.25
    assert float(after.mean()) > before + 0.8
    assert np.isfinite(np.asarray(metrics.loss)).all()


def test_return_stats_moments_known_values():
    from adaptax.rl.rl2 import ReturnStats

    # before any update: the identity (μ, σ) = (0, 1)
    mean, std = ReturnStats(jnp.zeros(()), jnp.zeros(()), jnp.zeros(())).moments()
    assert (float(mean), float(std)) == (0.0, 1.0)
    # one update with decay β = 0.9 from zero: EMAs 0.1·m, 0.1·E[R²], weight 0.1; debiased
    # μ = 5, E[R²] = 29, σ = sqrt(29 − 25) = 2
    mean, std = ReturnStats(jnp.array(0.5), jnp.array(2.9), jnp.array(0.1)).moments()
    np.testing.assert_allclose([float(mean), float(std)], [5.0, 2.0], rtol=1e-5)


def test_value_norm_standardises_targets_and_denormalises_values_in_gae():
    from adaptax.rl.returns import gae

    settings = RL2Settings(**TINY, value_norm=True, value_norm_decay=0.9)
    agent = rl2_agent(MDP, 3, settings)
    learner = rl2_learner(agent)
    state = learner.init(jax.random.PRNGKey(0))
    state, _ = jax.jit(partial(iteration, agent))(state)  # the statistics saw one batch
    stats = state.return_stats
    np.testing.assert_allclose(float(stats.weight), 0.1, rtol=1e-6)  # 1 − β after one update
    mu, sigma = (float(x) for x in stats.moments())
    traj = jax.jit(partial(collect, agent))(state.params, instances(MDP, 8), jax.random.PRNGKey(1))
    batch = jax.jit(partial(prepare, agent))(traj, stats)
    # slow check of stream 0: GAE on the de-normalised values V = μ + σ·v, γ 0.99, λ 0.3
    values = mu + sigma * np.asarray(traj.value[0])
    ref = gae(traj.reward[0], jnp.asarray(values), traj.info["trial_done"][0], 0.0, 0.99, 0.3)
    np.testing.assert_allclose(batch.advantages[:, 0], ref.advantages, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(batch.returns[:, 0], ref.returns, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(batch.value[:, 0], traj.value[0])  # the raw network output
    # off (the default), the value network's output is used as is: (μ, σ) = (0, 1)
    plain = jax.jit(partial(prepare, agent))(traj)
    ref = gae(traj.reward[0], traj.value[0], traj.info["trial_done"][0], 0.0, 0.99, 0.3)
    np.testing.assert_allclose(plain.returns[:, 0], ref.returns, rtol=1e-5, atol=1e-5)


def test_time_feature_is_first_input_and_the_learner_recomputes_the_rollout():
    agent = rl2_agent(MDP, 3, RL2Settings(**TINY, time_feature=True))
    learner = rl2_learner(agent)
    state = learner.init(jax.random.PRNGKey(0))
    traj = jax.jit(partial(collect, agent))(state.params, instances(MDP, 8), jax.random.PRNGKey(1))
    batch = jax.jit(partial(prepare, agent))(traj)  # [T = 6, B = 8]
    # the time feature t / T for T = 6, first in the flattened input; the done flag d_{t−1}
    np.testing.assert_allclose(batch.xs.time[:, 3, 0], np.arange(6) / 6, rtol=1e-6)
    assert batch.xs.prev_done[:, 3].tolist() == [0.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    flat = jax.vmap(jax.vmap(flatten_input))(batch.xs)
    np.testing.assert_allclose(flat[:, 3, 0], np.arange(6) / 6, rtol=1e-6)
    # the unroll over the stored inputs reproduces the values and log-probs the rollout saw
    carry = agent.network.init_carry(8)
    _, logits, values = agent.network.unroll(state.params, carry, batch.xs, batch.resets)
    np.testing.assert_allclose(values, batch.value, rtol=1e-5, atol=1e-6)
    logp = jax.nn.log_softmax(logits)[jnp.arange(6)[:, None], jnp.arange(8), batch.action]
    np.testing.assert_allclose(logp, batch.log_prob, rtol=1e-5, atol=1e-6)


def test_lr_anneal_reaches_zero_after_the_given_iterations():
    # anneal over 1 iteration of 1 epoch × 2 minibatches: Adam steps use lr·(1 − c/2) for the
    # update count c = 0, 1, then 0 from c = 2 on, so a second iteration leaves θ unchanged
    agent = rl2_agent(MDP, 2, RL2Settings(**TINY, lr_anneal_iterations=1))
    learner = rl2_learner(agent)
    state = learner.init(jax.random.PRNGKey(0))
    first, _ = jax.jit(partial(iteration, agent))(state)
    second, _ = jax.jit(partial(iteration, agent))(first)
    moved = jax.tree.leaves(jax.tree.map(lambda a, b: jnp.abs(a - b).max(), state.params,
                                         first.params))
    assert max(float(m) for m in moved) > 0
    jax.tree.map(np.testing.assert_array_equal, first.params, second.params)


@pytest.mark.parametrize("algorithm", ["ppo", "trpo"])
def test_shared_torso_has_one_gru_and_every_part_learns(algorithm):
    agent = rl2_agent(MDP, 3, RL2Settings(**TINY, shared_torso=True, algorithm=algorithm))
    learner = rl2_learner(agent)
    state = learner.init(jax.random.PRNGKey(0))
    assert sorted(state.params["params"]) == [
        "policy_embed", "policy_gru", "policy_head", "value_head"]
    new, metrics = jax.jit(partial(iteration, agent))(state)
    assert np.isfinite(float(metrics.loss))
    moved = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), state.params, new.params)
    # PPO: the value loss and the policy loss both reach the shared GRU; TRPO: the policy step
    # moves the torso and the value fit moves the head
    for name, leaves in moved["params"].items():
        assert max(jax.tree.leaves(leaves)) > 0, name
    # the unroll over the learner's data reproduces the rollout's values with one carry
    traj = jax.jit(partial(collect, agent))(new.params, instances(MDP, 8), jax.random.PRNGKey(1))
    batch = jax.jit(partial(prepare, agent))(traj)
    carry = agent.network.init_carry(8)
    assert carry.value is None
    _, _, values = agent.network.unroll(new.params, carry, batch.xs, batch.resets)
    np.testing.assert_allclose(values, batch.value, rtol=1e-5, atol=1e-6)


_DATA_PARALLEL = """
from functools import partial
import jax, numpy as np
from adaptax import parallel
from adaptax.envs import BernoulliBandit, instances
from adaptax.rl.rl2 import RL2Settings, evaluate, rl2_agent, rl2_learner
assert jax.device_count() == 2
env = BernoulliBandit(5)
for algorithm in ("ppo", "trpo"):
    settings = RL2Settings(hidden_size=32, embed_size=32, trials_per_batch=256, minibatches=4,
                           lr=3e-3, value_norm=True, time_feature=True, algorithm=algorithm)
    agent = rl2_agent(env, 10, settings)
    learner = rl2_learner(agent)
    start = learner.init(jax.random.PRNGKey(0))
    run = parallel.on(parallel.data_mesh(2), learner.run)
    one, m1 = learner.run(start, 3)
    two, m2 = run(start, 3)
    # the same numbers on two devices as on one (a few iterations: after many, a sampled action
    # flips where rounding moves a probability across a threshold), the state on both devices
    for a, b in zip(jax.tree.leaves((one, m1)), jax.tree.leaves((two, m2))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)
    for leaf in jax.tree.leaves(two.params):
        assert len(leaf.sharding.device_set) == 2, leaf.sharding
    assert float(m2.env_steps[-1]) == 256 * 10
    two, _ = run(two, 12)
    score_fn = parallel.on(parallel.data_mesh(2), partial(evaluate, agent))
    score = score_fn(two.params, instances(env, 500), jax.random.PRNGKey(1))
    print(algorithm, float(score.mean()))
"""


def test_two_devices_train_to_the_numbers_of_one_and_learn(on_host_devices):
    # Two host devices need XLA_FLAGS before JAX starts, hence a fresh interpreter. Random
    # scores 5.0 (10 pulls of arms with p ~ U[0, 1]); a trial's sd is about 1.6, so over 500
    # instances 5.5 is 7 standard errors above random (PPO's 15 iterations reach about 6.3).
    out = on_host_devices(_DATA_PARALLEL)
    assert out.returncode == 0, out.stderr[-2000:]
    scores = dict(line.split() for line in out.stdout.strip().splitlines())
    assert float(scores["ppo"]) > 5.5, scores


def test_settings_check_the_minibatches():
    with pytest.raises(ValueError, match="minibatches"):
        RL2Settings(trials_per_batch=12, minibatches=5)


def test_rl2_learns_from_first_person_maze_views():
    # pixels: the trial's image observation goes through the paper's convolutions (chosen by
    # the observation's rank), a shared torso, and one PPO iteration runs end to end
    from adaptax.envs import make

    env = make("maze-5x5", horizon=6)
    agent = rl2_agent(env, 2, RL2Settings(hidden_size=16, embed_size=16, trials_per_batch=4,
                                          minibatches=2, epochs=1, shared_torso=True))
    assert agent.network.encoder is not None
    learner = rl2_learner(agent)
    state = learner.init(jax.random.PRNGKey(0))
    assert state.params["params"]["encoder"]["kernel_0"].shape == (5, 5, 3, 16)
    new, metrics = learner.run(state, 1)
    assert np.isfinite(float(metrics.loss[0])) and int(metrics.env_steps[0]) == 4 * 12
    moved = jax.tree.leaves(jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()),
                                         new.params, state.params))
    assert max(moved) > 0
