"""The baselines experiments: run folder, table, bold rule, bad input."""

import json
import time

import numpy as np
import pytest

from adaptax.cli import main
from adaptax.experiments.baselines import format_table


def test_bandit_smoke_run_writes_every_cell(tmp_path, capsys):
    out = tmp_path / "run"
    # A finished RL² run on the same setting and test instances fills the RL² column; a run
    # evaluated elsewhere (no test-split record, or another one) does not.
    rl2 = tmp_path / "runs" / "rl2-bandits" / "x-s0"
    test = {"split": "test", "first_seed": 1_000_000, "num": 100}
    for folder, splits, mean in ((rl2, {"test": test}, 6.9),
                                 (rl2.with_name("old"), {}, 9.0),
                                 (rl2.with_name("other"), {"test": {**test, "num": 50}}, 9.0)):
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(json.dumps({
            "setting": {"k": 5, "n": 10}, "splits": splits,
            "rl2": {"mean": mean, "std": 1.5, "eval_tasks": 100}}))
        time.sleep(0.01)  # the newest matching run wins: the mismatched ones are newer
    assert main(["run", "baselines-bandits", "--preset", "smoke", "--out", str(out),
                 "--set", f"rl2_runs={tmp_path / 'runs'}"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["schema"] == "adaptax.baselines.results/1"
    assert results["splits"] == {"test": test}  # paper mode: tuned on the test instances
    (row,) = results["rows"]
    assert row["setting"] == {"n": 10, "k": 5}
    cells = row["cells"]
    assert set(cells) == {"random", "gittins", "thompson", "optimistic_thompson", "ucb1",
                          "epsilon_greedy", "greedy", "bayes_optimal", "rl2"}
    # se = std/√n = 1.5/10; 6.9 sits within two of them from the paper's 6.7.
    assert cells["rl2"]["se"] == pytest.approx(0.15) and cells["rl2"]["within_2se"]
    assert cells["rl2"]["source"] == str(rl2)
    # Random pulls score n·E[p] = 10·0.5 = 5 on average; its s.e. over 100 instances is ≈ 0.2.
    assert abs(cells["random"]["mean"] - 5.0) < 4 * cells["random"]["se"]
    # The exact Bayes-optimal policy can only be beaten by luck, never by 4 standard errors.
    for name, cell in cells.items():
        assert cell["mean"] <= cells["bayes_optimal"]["mean"] + 4 * cell["se"], name
    assert cells["bayes_optimal"]["bold"] and not cells["random"]["bold"]
    assert cells["rl2"]["bold"]  # 6.9 ± 0.15 cannot be significantly below any ≈ 6.8 column
    assert cells["ucb1"]["hparam"]["c"] in [round(0.1 * i, 1) for i in range(11)]
    assert cells["optimistic_thompson"]["hparam"]["num_samples"] in (1, 4)
    assert len(cells["epsilon_greedy"]["grid_means"]) == 11
    # the paper's protocol: the chosen ε has the best mean on the reported instances themselves
    eps = cells["epsilon_greedy"]
    assert eps["tune_means"] == eps["grid_means"]
    assert eps["mean"] == pytest.approx(max(eps["grid_means"]))
    assert (out / "figures" / "baselines.png").is_file()
    assert "| 10, 5 |" in (out / "report.md").read_text()


@pytest.mark.parametrize("item, message", [
    ("k=1", "k must be >= 2"),
    ("n=0", "n must be >= 1"),
    ("mode=fast", "mode must be one of"),
    ("ots_samples=", "ots_samples must not be empty"),
    ("agents=gittins,oracle", "agents must be one of"),
])
def test_bad_settings_get_one_line(item, message, capsys):
    assert main(["run", "baselines-bandits", "--set", item]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_table_marks_bold_and_misses():
    cell = lambda m, paper, bold, ok: {"mean": m, "se": 0.1, "paper": paper, "bold": bold,  # noqa: E731
                                       "within_2se": ok, "hparam": {}}
    results = {"columns": ["a", "b"], "labels": {"a": "A", "b": "B"}, "rows": [
        {"label": "10, 5", "cells": {"a": cell(6.7, 6.6, True, True),
                                     "b": cell(5.0, 5.5, False, False)}}]}
    text = format_table(results)
    assert "| 10, 5 | **6.7 ± 0.1** (6.6) | 5.0 ± 0.1 (5.5 ✗) |" in text


def test_bold_from_summaries_matches_the_welch_rule_on_samples():
    from adaptax.baselines import stats
    from adaptax.experiments.baselines import _table_row

    rng = np.random.default_rng(0)
    scores = {"a": rng.normal(6.8, 1.5, 1000), "b": rng.normal(6.7, 1.5, 1000),
              "c": rng.normal(6.5, 1.5, 1000)}
    expected = stats.not_worse_than_best(scores)
    row = _table_row("x", {}, scores, {name: {} for name in scores})
    assert {name: cell["bold"] for name, cell in row["cells"].items()} == expected
    assert expected["a"] and not expected["c"]  # 0.3 apart at se ≈ 0.067: p < 0.001


def test_mdp_smoke_run_writes_every_cell(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "baselines-mdps", "--preset", "smoke", "--out", str(out),
                 "--set", "rl2_runs="]) == 0
    results = json.loads((out / "results.json").read_text())
    (row,) = results["rows"]
    cells = row["cells"]
    assert set(cells) == {"random", "psrl", "opsrl", "ucrl2", "beb", "epsilon_greedy", "greedy"}
    # Random play: 10 episodes × 10 steps of mean reward E[μ] = 1 → ≈ 100, s.e. ≈ 2 here.
    assert abs(cells["random"]["mean"] - 100.0) < 4 * cells["random"]["se"]
    # Every learning agent beats random play by far more than its noise (≈ 35 points at n=10).
    for name in ("psrl", "opsrl", "ucrl2", "beb", "greedy"):
        assert cells[name]["mean"] > cells["random"]["mean"] + 20, name
    assert cells["opsrl"]["hparam"]["num_samples"] in (1, 5)
    assert cells["beb"]["hparam"]["scaling"] in (1e-3, 0.1)
    assert len(cells["ucrl2"]["grid_means"]) == 2
    assert "RL² Table 2" in (out / "report.md").read_text()


@pytest.mark.parametrize("item, message", [
    ("n=0", "n must be >= 1"),
    ("epsilons=0.5,1.5", "epsilons must be <= 1"),
    ("scalings=0", "scalings must be > 0"),
    ("opsrl_samples=1,1", "opsrl_samples has duplicates"),
])
def test_bad_mdp_settings_get_one_line(item, message, capsys):
    assert main(["run", "baselines-mdps", "--set", item]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_clean_mode_chooses_on_validation_instances_and_scores_on_test(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "baselines-mdps", "--preset", "smoke", "--out", str(out),
                 "--set", "rl2_runs=", "--set", "mode=clean", "--set", "agents=random,beb",
                 "--set", "validation_instances=60"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["splits"] == {
        "test": {"split": "test", "first_seed": 1_000_000, "num": 100},
        "validation": {"split": "validation", "first_seed": 0, "num": 60}}
    beb = results["rows"][0]["cells"]["beb"]
    grid = list(results["config"]["scalings"])
    # chosen by the validation means, reported at that point of the test means
    best = int(np.argmax(beb["tune_means"]))
    assert beb["hparam"] == {"scaling": grid[best]}
    assert beb["mean"] == pytest.approx(beb["grid_means"][best])
    assert beb["tune_means"] != beb["grid_means"]  # two different sets of instances
    assert "validation split" in (out / "report.md").read_text()
