"""maml-omniglot end to end on the shipped real subset (a smoke run and its report, Lake's runs
scored as 20-way one-shot tasks, the full-set layout from folders, one-line errors) and
maml-miniimagenet on a tiny dataset built in its official layout."""

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from adaptax.cli import main
from adaptax.datasets import omniglot as og
from adaptax.errors import ConfigError
from adaptax.experiments import registry
from adaptax.experiments.maml_fewshot import data as omniglot_data


def _run(tmp_path, *args):
    out = tmp_path / "run"
    main(["run", "maml-omniglot", "--preset", "smoke", "--out", str(out), *args])
    return out, json.loads((out / "results.json").read_text())


def test_smoke_run_scores_validation_and_test_tasks_and_writes_the_report(tmp_path):
    out, r = _run(tmp_path, "--set", "methods=maml,fomaml")
    assert r["steps"] == [0, 1, 2]
    assert r["data"]["train_classes"] == 242 - 30 and r["data"]["test_classes"] == 400
    for method in ("maml", "fomaml"):
        for name, tasks in (("validation", 20), ("test", 20)):
            e = r["methods"][method][name]
            assert e["tasks"] == tasks and len(e["mean"]) == 3
            assert all(0.0 <= m <= 100.0 for m in e["mean"])
        assert "lake" not in r["methods"][method]  # a 5-way model cannot take 20-way runs
        assert r["train"][method]["iterations"] == 20
    # the same initialisation and the same first tasks: MAML and first-order MAML differ only
    # in the meta-gradient, so their first logged losses are close but their curves are not one
    curves = r["training_curves"]
    assert len(curves["maml"]["step"]) == 2 and curves["maml"]["accuracy"][0] is not None
    report = (out / "report.md").read_text()
    assert "first-order MAML" in report and "Not comparable" in report
    assert (out / "figures" / "accuracy_vs_steps.png").exists()


def test_a_20_way_one_shot_model_is_scored_on_lakes_runs(tmp_path):
    out, r = _run(tmp_path, "--set", "way=20", "--set", "eval_tasks=10",
                  "--set", "validation_tasks=10")
    lake = r["methods"]["maml"]["lake"]
    assert lake["runs"] == 20 and len(lake["per_run"]) == 20 and len(lake["mean"]) == 3
    # 20 test drawings per run: each run's error is a multiple of 5%
    assert all(abs(e / 5 - round(e / 5)) < 1e-6 for e in lake["per_run"])
    assert np.mean(lake["per_run"]) == pytest.approx(lake["mean"][-1])
    assert "Lake's 20-way one-shot benchmark" in (out / "report.md").read_text()


def test_lakes_runs_pair_each_training_drawing_with_the_test_drawing_of_its_class():
    runs = og.one_shot_runs(og.SHIPPED / "all_runs.zip")
    pairs = omniglot_data.run_pairs(runs)
    assert pairs.shape == (400, 2, 28, 28)
    for r in (0, 7, 19):
        for j, c in enumerate(runs.answers[r]):
            np.testing.assert_array_equal(pairs[20 * r + c, 1], runs.test[r, j])
            np.testing.assert_array_equal(pairs[20 * r + c, 0], runs.train[r, c])


def test_the_full_layout_from_folders_trains_on_background_and_tests_on_evaluation(tmp_path):
    folder = tmp_path / "omniglot"
    folder.mkdir()
    for stem, name in (("images_background", "images_background_small1.zip"),
                       ("images_evaluation", "images_background_small2.zip")):
        with zipfile.ZipFile(og.SHIPPED / name) as z:
            z.extractall(tmp_path / stem)
        (tmp_path / stem / name.removesuffix(".zip")).rename(folder / stem)
    pools = omniglot_data.load(str(folder), "background", 20)
    assert pools.train.shape[0] == 136 - 20 and pools.validation.shape[0] == 20
    assert pools.test.shape == (156, 20, 28, 28) and pools.runs is not None
    omniglot_data.check(pools, 5, 5, 15)  # 20 drawings per test character: 5-shot works
    with pytest.raises(og.DataError, match="cannot keep 1200"):
        omniglot_data.load(str(folder), "paper", 20)  # 292 characters cannot give 1200


def test_bad_settings_fail_in_one_line_naming_what_to_fix(tmp_path, capsys):
    exp = registry.get("maml-omniglot")
    with pytest.raises(ConfigError, match="data=FOLDER"):
        exp.make_config("default", {"split": "paper"})
    with pytest.raises(ConfigError, match="20"):
        exp.make_config("default", {"shot": 10, "query": 15})
    # the shipped test characters have two drawings; a missing folder names the files it needs
    for args, message in ((["--preset", "smoke", "--set", "shot=5"], "shot=1 query=1"),
                          (["--preset", "paper-5w1s", "--set", f"data={tmp_path / 'nowhere'}"],
                           "images_background.zip")):
        capsys.readouterr()
        assert main(["run", "maml-omniglot", *args, "--out", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len([line for line in err if line.startswith("adaptax: error")]) == 1
        assert message in err[-1] and not (tmp_path / "r").exists()


def _miniimagenet(root, classes=(6, 5, 5), per_class=3):
    """A tiny MiniImagenet: train/val/test.csv and images/ of solid 84×84 colours."""
    (root / "images").mkdir(parents=True)
    for s, (split, count) in enumerate(zip(("train", "val", "test"), classes, strict=True)):
        rows = ["filename,label"]
        for c in range(count):
            for i in range(per_class):
                name = f"n{s:02d}{c:06d}{i:08d}.png"
                rows.append(f"{name},n{s:02d}{c:06d}")
                out = io.BytesIO()
                Image.fromarray(np.full((84, 84, 3), (40 * c, 20 * s, 10 * i), np.uint8)).save(
                    out, format="PNG")
                (root / "images" / name).write_bytes(out.getvalue())
        (root / f"{split}.csv").write_text("\n".join(rows) + "\n")
    return root


def test_miniimagenet_smoke_run_on_a_dataset_in_the_official_layout(tmp_path, monkeypatch):
    monkeypatch.setenv("ADAPTAX_CACHE", str(tmp_path / "cache"))
    data = _miniimagenet(tmp_path / "mini")
    out = tmp_path / "run"
    # BatchNorm with running statistics (a model state through the inner steps) end to end
    assert main(["run", "maml-miniimagenet", "--preset", "smoke", "--set", f"data={data}",
                 "--set", "norm=running", "--out", str(out)]) == 0
    r = json.loads((out / "results.json").read_text())
    assert r["experiment"] == "maml-miniimagenet"
    assert r["data"]["train_classes"] == 6 and r["data"]["test_classes"] == 5
    assert "lake" not in r["methods"]["maml"] and r["methods"]["maml"]["test"]["tasks"] == 10
    # the paper's 5-way 1-shot cell, both orders
    assert r["paper"]["cells"] == {"maml": [48.70, 1.84], "fomaml": [48.07, 1.75]}
    report = (out / "report.md").read_text()
    assert "MiniImagenet 5-way 1-shot" in report and "max-pooling" in report
    assert "BatchNorm with running statistics" in report
    assert "48.7 ± 1.8" in report
