"""The rl2-bandits and rl2-mdps experiments end to end through the command line (smoke presets)."""

import json

import jax
import numpy as np
import pytest

from adaptax.baselines.bandits import run_bandit_agent
from adaptax.baselines.mdp import run_mdp_agent
from adaptax.cli import main
from adaptax.experiments.protocol import split_instances
from adaptax.experiments.rl2 import (
    BANDIT_PRESETS,
    MDP_PRESETS,
    PAPER_BANDITS,
    PAPER_MDPS,
    BanditsConfig,
    MDPsConfig,
    _setting,
    batch_size,
    settings_of,
    training_budget,
)
from adaptax.rl.rl2 import evaluate, rl2_agent, rl2_learner
from adaptax.storage import checkpoint
from adaptax.storage.runs import RunDir


@pytest.mark.parametrize("experiment, sets, setting, paper, steps_per_trial", [
    ("rl2-bandits", ["--set", "k=5", "--set", "n=10"], {"k": 5, "n": 10}, 6.7, 10),
    ("rl2-mdps", ["--set", "n=10"], {"n": 10}, 156.2, 100),
])
def test_smoke_preset_runs_end_to_end(tmp_path, capsys, monkeypatch, experiment, sets, setting,
                                      paper, steps_per_trial):
    monkeypatch.setenv("ADAPTAX_NO_PROGRESS", "1")
    out = tmp_path / "run"
    assert main(["run", experiment, "--preset", "smoke", *sets, "--out", str(out)]) == 0
    for name in ("config.json", "metrics.jsonl", "results.json", "report.md",
                 "figures/learning_curve.png", "checkpoint/rl2.json"):
        assert (out / name).is_file(), name
    results = json.loads((out / "results.json").read_text())
    assert results["schema"] == f"adaptax.{experiment}.results/1"
    assert results["setting"] == setting
    assert results["paper"]["rl2"] == paper
    train = results["train"]
    # smoke: 32 trials per iteration; bandits 6 iterations of 320 steps, MDPs 2 of 3200
    assert train["trials_per_iteration"] == 32 and train["steps_per_trial"] == steps_per_trial
    assert train["env_steps"] == train["iterations"] * 32 * steps_per_trial
    assert len(results["curve"]["env_steps"]) == len(RunDir(out).read_metrics())
    assert results["curve"]["env_steps"][-1] == train["env_steps"]
    # metrics.jsonl counts the steps of each iteration: 32 trials × T
    assert {r["env_steps"] for r in RunDir(out).read_metrics()} == {32.0 * steps_per_trial}
    assert min(results["curve"]["steps_per_second"]) > 0
    r = results["rl2"]
    assert r["eval_tasks"] == 50 and r["ci95"] > 0
    # the protocol: scored on the test split, also on the validation split, and the score is
    # what the checkpointed policy gets on exactly those test instances
    assert results["splits"] == {
        "test": {"split": "test", "first_seed": 1_000_000, "num": 50},
        "validation": {"split": "validation", "first_seed": 0, "num": 40}}
    assert results["validation"]["eval_tasks"] == 40
    config = (BanditsConfig if experiment == "rl2-bandits" else MDPsConfig)(
        **{**BANDIT_PRESETS["smoke"], **setting} if experiment == "rl2-bandits"
        else {**MDP_PRESETS["smoke"], **setting})
    name, env, episodes, _, _ = _setting(config)
    agent = rl2_agent(env, episodes, settings_of(config, 32))
    template = rl2_learner(agent).init(jax.random.PRNGKey(0))
    state, _ = checkpoint.load(out / "checkpoint", "rl2", template, experiment=name)
    root = jax.random.PRNGKey(0)
    again = np.asarray(jax.jit(evaluate, static_argnums=0)(
        agent, state.params, split_instances(env, "test", 50), jax.random.fold_in(root, 1)))
    assert r["mean"] == pytest.approx(float(again.mean()), rel=1e-6)
    assert r["ci95"] == pytest.approx(1.96 * again.astype(float).std(ddof=1) / np.sqrt(50))
    # the classical agents on the same instances; random play checked against its own run
    assert set(results["classical"]) == {"random", "greedy", "epsilon_greedy"}
    rand = results["classical"]["random"]
    tasks = split_instances(env, "test", 50)
    if experiment == "rl2-bandits":
        own = run_bandit_agent("random", np.asarray(tasks.probs, np.float64), 10, 0, "paper")
    else:
        own = run_mdp_agent("random", np.asarray(tasks.reward_mean, np.float64),
                            np.asarray(tasks.transition, np.float64), 10, 0, "paper")
    assert rand["mean"] == pytest.approx(float(np.mean(own)))
    comp = results["comparisons"]["random"]
    assert comp["diff"] == pytest.approx(r["mean"] - rand["mean"])
    assert comp["verdict"] in ("above", "level", "below")
    assert (comp["verdict"] == "above") == (comp["p_above"] < 0.05)
    # normalised as the paper's Figure 2 with baselines run on the same 50 instances: the
    # reference beats random, and the curve is the raw curve mapped by (R − random)/(ref − random)
    norm = results["normalised"]
    assert norm["reference"] == ("gittins" if experiment == "rl2-bandits" else "opsrl")
    ref, rand = norm["reference_score"], norm["random_score"]
    assert ref > rand + (1.0 if experiment == "rl2-bandits" else 20.0)
    raw = np.asarray(results["curve"]["trial_return"])
    np.testing.assert_allclose(norm["curve"], (raw - rand) / (ref - rand), rtol=1e-9)
    assert norm["rl2"] == pytest.approx((r["mean"] - rand) / (ref - rand))
    printed = capsys.readouterr().out
    assert "| RL² (`smoke`) |" in printed and f"| {paper} |" in printed
    assert "one-sided Welch" in printed
    assert "test split, instance seeds 1000000…1000049" in (out / "report.md").read_text()
    assert "Not comparable with the paper's numbers" in (out / "report.md").read_text()
    assert "Normalised score" in (out / "report.md").read_text()


def test_paper_tables_and_batch_size():
    assert PAPER_BANDITS[(100, 5)]["rl2"] == 78.7 and PAPER_BANDITS[(100, 5)]["greedy"] == 74.8
    assert PAPER_MDPS[10]["rl2"] == 156.2 and PAPER_MDPS[10]["opsrl"] == 144.1
    # paper: 250,000 steps per iteration → 25,000 bandit trials of n = 10; MDPs n = 10: 100 steps
    # per trial → 2,500 trials; PPO rounds down to a multiple of its minibatches (4)
    assert batch_size(BanditsConfig(steps_per_iteration=250_000), 10) == 25_000
    assert batch_size(MDPsConfig(steps_per_iteration=250_000, minibatches=3), 100) == 2_499
    assert batch_size(MDPsConfig(), 100) == 1024
    # data-parallel: a multiple of minibatches × devices, so each device gets an equal share
    config = MDPsConfig(steps_per_iteration=250_000, minibatches=3, devices=2)
    assert batch_size(config, 100) == 2_496


@pytest.mark.parametrize("argv, message", [
    (["run", "rl2-bandits", "--set", "k=7"], "k must be one of [5, 10, 50]"),
    (["run", "rl2-mdps", "--set", "n=30"], "n must be one of [10, 25, 50, 75, 100]"),
    (["run", "rl2-bandits", "--set", "steps_per_iteration=0", "--set", "minibatches=3"],
     "minibatches (3) must divide trials_per_iteration (1024)"),
    # in this process JAX has started with one device (the test makes sure), too late for the
    # command line's XLA_FLAGS: the run stops with the flag to set
    (["run", "rl2-mdps", "--preset", "smoke", "--set", "devices=2"],
     "XLA_FLAGS=--xla_force_host_platform_device_count=2"),
])
def test_bad_settings_fail_in_one_line(argv, message, capsys, tmp_path):
    jax.devices()  # starts the backend, as a run's earlier computations would
    assert main([*argv, "--out", str(tmp_path / "run")]) != 0
    assert message in capsys.readouterr().err


def test_paper_presets_stay_faithful_and_the_defaults_use_the_tuning():
    from adaptax.experiments.rl2 import BANDIT_PRESETS, MDP_PRESETS, batch_size, settings_of

    for config in (BanditsConfig(**BANDIT_PRESETS["paper"]), MDPsConfig(**MDP_PRESETS["paper"])):
        s = settings_of(config, 1000, iterations=1000)
        # TRPO, GRU 256, γ 0.99, λ 0.3, and none of the departures (RL² §3)
        assert (s.algorithm, s.hidden_size, s.gamma, s.lam) == ("trpo", 256, 0.99, 0.3)
        assert not s.value_norm and not s.time_feature and s.lr_anneal_iterations == 0
        assert not s.shared_torso
    s = settings_of(MDPsConfig(**MDP_PRESETS["default"]), 256, iterations=588)
    assert s.value_norm and s.time_feature and s.lr_anneal_iterations == 588
    assert (s.trials_per_batch, s.lr, s.ent_coef, s.lam) == (256, 3e-3, 0.01, 0.3)
    # the same settings serve the bandits, with 25,600 steps per iteration whatever the trial
    # length (rounded down to whole PPO minibatches)
    bandits = BanditsConfig(**BANDIT_PRESETS["default"])
    assert settings_of(bandits, 256).value_norm and bandits.lr == 3e-3
    assert [batch_size(bandits, t) for t in (10, 100, 500)] == [2560, 256, 48]
    assert batch_size(MDPsConfig(**MDP_PRESETS["default"]), 100) == 256


def test_training_budget_is_per_setting_and_an_explicit_budget_wins():
    # 500-pull trials get 10M steps so that the setting fits ~15 min; the rest 20M; MDPs 30M,
    # 60M at n = 10 (short trials train fastest), 20M and 15M for trials of 50 to 100 episodes;
    # any --set total_steps is taken as given
    from adaptax.experiments.rl2 import BANDIT_PRESETS, MDP_PRESETS

    def budget(cls, presets, **sets):
        return training_budget(cls(**{**presets["default"], **sets}))

    assert [budget(BanditsConfig, BANDIT_PRESETS, n=n) for n in (10, 100, 500)] == [
        20_000_000, 20_000_000, 10_000_000]
    assert budget(BanditsConfig, BANDIT_PRESETS, n=500, total_steps=7) == 7
    assert [budget(MDPsConfig, MDP_PRESETS, n=n) for n in (10, 25, 50, 75, 100)] == [
        60_000_000, 30_000_000, 20_000_000, 15_000_000, 15_000_000]
    assert budget(MDPsConfig, MDP_PRESETS, n=10, total_steps=30_000_000) == 30_000_000
    assert budget(BanditsConfig, BANDIT_PRESETS, k=50, n=500, total_steps=20_400_000) == 20_400_000


def test_auto_devices_take_two_host_devices_on_a_cpu_and_every_accelerator_elsewhere(monkeypatch):
    import adaptax.parallel as parallel  # devices_of's auto count comes from parallel.auto_devices
    from adaptax.experiments.rl2 import MDP_PRESETS, devices_of

    default = MDPsConfig(**MDP_PRESETS["default"])
    assert default.devices == 0 and default.host_devices == 2  # what `adaptax run` asks XLA for
    assert MDPsConfig(devices=4).host_devices == 4
    # this test process started JAX with its one CPU device: auto takes it
    assert devices_of(default) == jax.local_device_count() == 1
    assert devices_of(MDPsConfig(devices=2)) == 2  # an explicit count is taken as given
    backend, count = "cpu", 8
    monkeypatch.setattr(parallel.jax, "default_backend", lambda: backend)
    monkeypatch.setattr(parallel.jax, "local_device_count", lambda: count)
    monkeypatch.setattr(parallel.jax, "device_count", lambda: count)
    assert devices_of(default) == 2  # a CPU split into 8 host devices still trains on 2
    assert devices_of(MDPsConfig(devices=0, algorithm="trpo")) == 2
    backend = "gpu"
    assert devices_of(default) == 8
    # a fixed batch of 12 trials splits evenly over 6 devices, not 8
    assert devices_of(MDPsConfig(devices=0, trials_per_iteration=12)) == 6
    # the batch, rounded to minibatches × devices, so every device gets an equal share
    assert batch_size(default, 100) == 256
