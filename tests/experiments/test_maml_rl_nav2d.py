"""End to end: the maml-rl-nav2d smoke preset through the command line, and its config."""

import json

import numpy as np
import pytest

from adaptax.cli import main
from adaptax.errors import ConfigError
from adaptax.experiments import registry
from adaptax.experiments.maml_rl import PAPER, results_table


def test_smoke_run_writes_results_report_and_figures(tmp_path, capsys):
    import jax

    jax.devices()  # starts the backend with one device, as a run's earlier computations would
    out = tmp_path / "run"
    # maml and random init only: the pretrained and oracle phases reuse the same iteration with
    # inner_steps=0 (covered in tests/rl) and would double the compile time of this test
    assert main(["run", "maml-rl-nav2d", "--preset", "smoke", "--set", "methods=maml,random",
                 "--out", str(out)]) == 0
    for name in ("config.json", "metrics.jsonl", "results.json", "report.md",
                 "figures/return_vs_steps.png", "figures/trajectories.png",
                 "figures/training.png", "checkpoint/maml.json"):
        assert (out / name).is_file(), name
    results = json.loads((out / "results.json").read_text())
    assert results["schema"] == "adaptax.maml-rl.results/1" and results["task"] == "nav2d"
    assert results["steps"] == [0, 1, 2, 3]
    assert set(results["methods"]) == {"maml", "random"}
    maml = results["methods"]["maml"]
    per_task = np.asarray(maml["per_task"])  # [eval_tasks, steps + 1]
    assert per_task.shape == (4, 4)
    # mean and standard error recomputed from the per-goal returns
    np.testing.assert_allclose(maml["mean"], per_task.mean(0), rtol=1e-6)
    np.testing.assert_allclose(maml["se"], per_task.std(0, ddof=1) / 2.0, rtol=1e-6)
    # horizon 20, reward = −distance ≤ 0 and the point starts ≤ 0.71 from the goal, and moves
    # at most 0.1·√2 per step, so a trajectory's return lies in [−20·(0.71 + 20·0.142), 0]
    assert np.all(per_task <= 0) and np.all(per_task > -20 * (0.71 + 20 * 0.142))
    assert results["step_sizes"]["maml"] == [0.1, 0.05, 0.05]
    # random init's fine-tuning α: the best mean post-adaptation return of the smoke grid on
    # held-out goals, then α/2 for the later steps
    sel = results["finetune_lr_selection"]["random"]
    assert sel["grid"] == [0.1, 0.5] and len(sel["scores"]) == 2
    assert sel["chosen"] == sel["grid"][int(np.argmax(sel["scores"]))]
    np.testing.assert_allclose(results["step_sizes"]["random"],
                               [sel["chosen"], sel["chosen"] / 2, sel["chosen"] / 2])
    assert "maml" not in results["finetune_lr_selection"]
    assert len(results["adaptation_diagnostics"]["maml"]["adv_std"]) == 3
    report = (out / "report.md").read_text()
    assert "pre-adaptation (0 steps)" in report and "after 3 steps" in report
    assert f"α = {sel['chosen']:g} chosen on the validation tasks" in report
    assert "| MAML | paper | -40.4 | -11.7 | -3.3 | -3.2 |" in report
    assert "| MAML | ours (`smoke`) |" in report
    assert "Not comparable with the paper's numbers" in report  # smoke's horizon is 20
    # the protocol: test goals from the test split, the step size chosen on validation goals
    assert results["splits"]["test"] == {"split": "test", "first_seed": 1_000_000, "num": 4}
    assert results["splits"]["validation"]["split"] == "validation"
    assert "test split, instance seeds 1000000…1000003" in report
    # same-goal comparisons: MAML minus random init after each step, from the per-goal returns
    comp = results["comparisons"]["random"]
    rand = np.asarray(results["methods"]["random"]["per_task"])
    assert len(comp) == 3
    np.testing.assert_allclose([c["diff"] for c in comp], (per_task - rand).mean(0)[1:],
                               rtol=1e-6, atol=1e-9)
    assert results["provenance"]["jax"] and results["provenance"]["device_count"] >= 1
    assert "| random init | paper | -82.7 | -58.0 | -53.8 | -46.8 |" in report
    printed = capsys.readouterr().out
    assert "| MAML | ours (`smoke`) |" in printed and str(out) in printed


def test_results_table_labels_pre_and_post_adaptation():
    results = {"steps": [0, 1], "methods": {
        "maml": {"mean": [-40.0, -12.0], "se": [1.0, 0.5]},
        "oracle": {"mean": [-2.5], "se": [0.1]}}}
    table = results_table(results)
    assert "| method | source | pre-adaptation (0 steps) | after 1 step |" in table
    assert "| MAML | ours | -40.0 ± 1.0 | -12.0 ± 0.5 |" in table
    assert f"| oracle | paper | {PAPER['oracle'][0]:.1f} | — |" in table


def test_config_validation():
    exp = registry.get("maml-rl-nav2d")
    # `paper` is the paper's method: one trained REINFORCE step at α = 0.1, meta-batch 20 × 20
    # trajectories, 500 iterations, TRPO with rllab's damping and Fisher products on all data
    paper = exp.make_config("paper")
    assert (paper.iterations, paper.train_inner_steps, paper.meta_objective) == (500, 1, "last")
    assert (paper.inner_estimator, paper.inner_lr, paper.meta_batch) == ("reinforce", 0.1, 20)
    assert (paper.num_trajs, paper.max_kl, paper.damping, paper.fvp_subsample) == (
        20, 0.01, 1e-5, 1.0)
    assert (paper.eval_tasks, paper.eval_trajs, paper.later_lr_factor) == (400, 40, 0.5)
    code = exp.make_config("paper-code")  # the authors' released scripts
    assert (code.iterations, code.inner_lr, code.finetune_lrs) == (100, 0.5, (0.5,))
    ours = exp.make_config("lvc-3step")
    assert (ours.train_inner_steps, ours.meta_objective) == (3, "all")
    assert (ours.fvp_subsample_by, ours.inner_estimator) == ("time", "lvc")
    with pytest.raises(ConfigError):
        exp.make_config("smoke", {"methods": ("pretrained",)})
    with pytest.raises(ConfigError):
        exp.make_config("smoke", {"inner_lr": 0.0})
    with pytest.raises(ConfigError, match="multiple of devices"):
        exp.make_config("paper", {"devices": 3})


def test_auto_devices_divide_the_meta_batch(monkeypatch):
    import jax

    from adaptax.experiments.maml_rl import devices_of

    exp = registry.get("maml-rl-nav2d")
    paper = exp.make_config("paper")
    assert paper.devices == 0 and paper.host_devices == 2  # what `adaptax run` asks XLA for
    # this test process started JAX with its CPU device(s): auto takes them, at most 2
    assert devices_of(paper) == min(jax.local_device_count(), 2)
    assert devices_of(exp.make_config("paper", {"devices": 4})) == 4  # taken as given
    backend, count = "cpu", 8
    monkeypatch.setattr(jax, "default_backend", lambda: backend)
    monkeypatch.setattr(jax, "local_device_count", lambda: count)
    monkeypatch.setattr(jax, "device_count", lambda: count)
    assert devices_of(paper) == 2  # a CPU split into 8 host devices still trains on 2
    assert devices_of(exp.make_config("paper", {"hvp": "exact"})) == 2
    backend = "gpu"
    assert devices_of(exp.make_config("paper", {"meta_batch": 40})) == 8
    assert devices_of(paper) == 5  # the most of the 8 that split 20 tasks evenly
