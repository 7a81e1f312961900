"""End to end: a MuJoCo locomotion experiment's smoke preset through the command line."""

import json

import numpy as np
import pytest

from adaptax.cli import main
from adaptax.errors import ConfigError
from adaptax.experiments import registry

pytest.importorskip("mujoco", reason="the mujoco extra (make test installs it)")


def test_cheetah_smoke_run_reports_beside_the_paper(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "maml-rl-cheetah-dir", "--preset", "smoke", "--set",
                 "methods=maml,random,oracle", "--seeds", "2", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    # the MuJoCo sampler is not vmapped: the two seeds train one after another, and seed 1
    # gives what a run of seed 1 alone gives
    assert (out / "checkpoint" / "maml-seed1.json").is_file()
    alone = tmp_path / "alone"
    assert main(["run", "maml-rl-cheetah-dir", "--preset", "smoke", "--set", "methods=maml",
                 "--seed", "1", "--out", str(alone)]) == 0
    single = json.loads((alone / "results.json").read_text())
    np.testing.assert_allclose(results["per_seed"][1]["methods"]["maml"]["per_task"],
                               single["methods"]["maml"]["per_task"], rtol=1e-5, atol=1e-5)
    assert results["experiment"] == "maml-rl-cheetah-dir" and results["task"] == "cheetah-dir"
    assert results["paper"]["maml"] == [-50.7, 293.2, 313.5, 315.7]
    per_task = np.asarray(results["methods"]["maml"]["per_task"])  # averaged over the seeds
    assert per_task.shape == (2, 4) and results["seeds"] == [0, 1]
    # 10 steps of ±v − 0.05|a|²: the cheetah moves well under 5 m/s from rest in 0.1 s
    assert np.all(np.abs(per_task) < 10 * (5 + 0.05 * 6 * 10))
    oracle = results["per_seed"][0]["methods"]["oracle"]
    assert oracle["mean"][0] == pytest.approx(np.mean(oracle["per_task"]))
    assert results["splits"]["test"]["first_seed"] == 1_000_000
    assert results["trajectories"] == {}
    report = (out / "report.md").read_text()
    assert "# MAML-RL — half-cheetah, forward/backward" in report
    assert "| MAML | paper | -50.7 | 293.2 | 313.5 | 315.7 |" in report
    assert "rllab on MuJoCo 1.31" in report  # the simulator differs: ordering, not values
    assert (out / "figures" / "return_vs_steps.png").is_file()


def test_locomotion_configs():
    exp = registry.get("maml-rl-ant-dir")
    paper = exp.make_config("paper")
    assert (paper.task, paper.meta_batch, paper.num_trajs, paper.horizon) == ("ant-dir", 40, 40,
                                                                               200)
    assert registry.get("maml-rl-cheetah-vel").make_config("paper").num_trajs == 20
    with pytest.raises(ConfigError, match="task"):
        exp.make_config("default", {"task": "nav2d"})
