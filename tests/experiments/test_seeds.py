"""Seeds as a batch axis: the summary across seeds, and seed i of a multi-seed run of every
learning experiment equals the single-seed run with seed i."""

import json

import numpy as np
import pytest

from adaptax.cli import main
from adaptax.experiments.seeds import combine, interval


def test_combine_averages_every_summary_and_keeps_the_seeds():
    per_seed = [
        {"methods": {"maml": {"mean": [1.0, 2.0], "se": [0.1, 0.1], "per_task": [[1.0], [2.0]]}},
         "rl2": {"mean": 5.0, "ci95": 0.3, "eval_tasks": 10, "diverged": 1}, "name": "a"},
        {"methods": {"maml": {"mean": [3.0, 2.0], "se": [0.2, 0.1], "per_task": [[3.0], [4.0]]}},
         "rl2": {"mean": 7.0, "ci95": 0.5, "eval_tasks": 10, "diverged": 2}, "name": "b"},
    ]
    out = combine(per_seed, [4, 5])
    assert out["seeds"] == [4, 5] and out["per_seed"] == per_seed and out["name"] == "a"
    maml = out["methods"]["maml"]
    assert maml["mean"] == [2.0, 2.0] and maml["seed_means"] == [[1.0, 2.0], [3.0, 2.0]]
    assert maml["se"] == [1.0, 0.0]  # std across seeds / √2
    assert maml["per_task"] == [[2.0], [3.0]]  # each task's value averaged over the seeds
    mean, half = interval([5.0, 7.0])
    assert out["rl2"]["mean"] == mean == 6.0 and out["rl2"]["ci95"] == pytest.approx(half)
    assert half == pytest.approx(12.706 * 1.0, rel=1e-4)  # t(0.975, 1) · std / √2
    assert out["rl2"]["diverged"] == 3 and out["rl2"]["eval_tasks"] == 10
    assert out["rl2"]["interval"] == "across seeds"


def _results(path):
    return json.loads((path / "results.json").read_text())


def test_rl2_seed_i_of_a_multi_seed_run_equals_the_single_seed_run(tmp_path):
    small = ["--preset", "smoke", "--set", "compare_agents=random"]
    assert main(["run", "rl2-bandits", *small, "--seeds", "2", "--out",
                 str(tmp_path / "two")]) == 0
    assert main(["run", "rl2-bandits", *small, "--seed", "1", "--out",
                 str(tmp_path / "one")]) == 0
    two, one = _results(tmp_path / "two"), _results(tmp_path / "one")
    assert two["seeds"] == [0, 1]
    for key in ("rl2", "validation"):
        np.testing.assert_allclose(two["per_seed"][1][key]["mean"], one[key]["mean"],
                                   rtol=1e-5)
        np.testing.assert_allclose(two[key]["seed_means"],
                                   [s[key]["mean"] for s in two["per_seed"]])
    assert two["per_seed"][0]["rl2"]["mean"] != two["per_seed"][1]["rl2"]["mean"]
    report = (tmp_path / "two" / "report.md").read_text()
    assert "RL² (`smoke`), 2 seeds" in report and "across the 2 seeds' means" in report


def test_nav2d_seed_i_of_a_multi_seed_run_equals_the_single_seed_run(tmp_path):
    small = ["--preset", "smoke", "--set", "methods=maml,random"]
    assert main(["run", "maml-rl-nav2d", *small, "--seeds", "2", "--out",
                 str(tmp_path / "two")]) == 0
    assert main(["run", "maml-rl-nav2d", *small, "--seed", "1", "--out",
                 str(tmp_path / "one")]) == 0
    two, one = _results(tmp_path / "two"), _results(tmp_path / "one")
    for method in ("maml", "random"):
        np.testing.assert_allclose(two["per_seed"][1]["methods"][method]["mean"],
                                   one["methods"][method]["mean"], rtol=1e-4)
    # the comparisons use each goal's return averaged over the seeds
    per_goal = np.mean([s["methods"]["maml"]["per_task"] for s in two["per_seed"]], axis=0)
    np.testing.assert_allclose(two["methods"]["maml"]["per_task"], per_goal)
    assert len(two["comparisons"]["random"]) == 3
    assert "across 2 seeds" in (tmp_path / "two" / "report.md").read_text()
