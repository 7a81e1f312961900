"""End to end: the maml-sinusoid run folder, resume after kill -9, and the NaN guard."""

import json
import os
import signal
import subprocess
import sys
import time
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
import pytest

from adaptax.cli import main
from adaptax.errors import TrainingDiverged
from adaptax.experiments.training import KILL_ENV, train_phase
from adaptax.storage import checkpoint
from adaptax.storage.runs import RunDir

SMALL = ["--preset", "smoke", "--set", "iterations=200", "--set", "chunk=50",
         "--set", "eval_tasks=20", "--set", "eval_k=5", "--set", "methods=maml,pretrained"]


def test_run_writes_a_complete_run_folder_and_resume_after_kill_matches(tmp_path, capsys):
    clean = tmp_path / "clean"
    assert main(["run", "maml-sinusoid", *SMALL, "--out", str(clean)]) == 0
    for name in ("config.json", "metrics.jsonl", "results.json", "report.md",
                 "figures/fits.png", "figures/mse_vs_steps.png", "checkpoint/maml.json"):
        assert (clean / name).is_file(), name
    results = json.loads((clean / "results.json").read_text())
    assert results["schema"] == "adaptax.maml-sinusoid.results/1"
    assert len(results["methods"]["maml"]["5"]["mean"]) == 11
    assert "| MAML |" in (clean / "report.md").read_text()
    assert "Not comparable with the paper's numbers:** 200 iterations" in (
        clean / "report.md").read_text()
    assert [r["step"] for r in RunDir(clean).read_metrics() if r["phase"] == "maml"] == [
        50, 100, 150, 200]
    printed = capsys.readouterr().out
    assert "published" in printed and str(clean) in printed

    # The same run killed with SIGKILL right after its second maml checkpoint, then resumed.
    killed = tmp_path / "killed"
    env = dict(os.environ, **{KILL_ENV: "maml:100", "ADAPTAX_NO_PROGRESS": "1"})
    proc = subprocess.run([sys.executable, "-m", "adaptax.cli", "run", "maml-sinusoid", *SMALL,
                           "--out", str(killed)], env=env, capture_output=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert not (killed / "results.json").exists()
    assert json.loads((killed / "checkpoint/maml.json").read_text())["step"] == 100
    assert main(["resume", str(killed)]) == 0
    resumed = json.loads((killed / "results.json").read_text())
    assert resumed["methods"] == results["methods"]
    assert resumed["pretrained_finetune_lr"] == results["pretrained_finetune_lr"]
    assert [r["step"] for r in RunDir(killed).read_metrics() if r["phase"] == "maml"] == [
        50, 100, 150, 200]

    # A damaged results.json (a key missing, or another experiment's) ends in one line.
    good = (killed / "results.json").read_text()
    for broken in ({k: v for k, v in resumed.items() if k != "methods"},
                   {**resumed, "experiment": "rl2-mdps"}):
        (killed / "results.json").write_text(json.dumps(broken))
        capsys.readouterr()
        assert main(["report", str(killed)]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "--evaluate" in err, err
    (killed / "results.json").write_text(good)

    # Resuming a finished run says so and changes nothing unless asked to evaluate again.
    capsys.readouterr()
    before = (killed / "results.json").stat().st_mtime_ns
    assert main(["resume", str(killed)]) == 0
    assert "is complete" in capsys.readouterr().err
    assert (killed / "results.json").stat().st_mtime_ns == before

    # A finished run evaluated again on more test tasks: only evaluation keys may change, the
    # trained parameters are kept and config.json records the change.
    assert main(["resume", str(killed), "--set", "iterations=400"]) == 2
    err = capsys.readouterr().err
    assert "only evaluation keys" in err and "iterations" in err and len(err.splitlines()) == 1
    assert main(["resume", str(killed), "--set", "eval_tasks=30"]) == 0
    more = json.loads((killed / "results.json").read_text())
    assert more["eval_tasks"] == 30 and more["splits"]["test"]["num"] == 30
    assert {m: (t["iterations"], t["final_loss"]) for m, t in more["train"].items()} == {
        m: (t["iterations"], t["final_loss"]) for m, t in resumed["train"].items()}  # no training
    record = json.loads((killed / "config.json").read_text())
    assert record["config"]["eval_tasks"] == 30 and record["changed_on_resume"] == ["eval_tasks"]


@pytest.mark.parametrize("argv, message", [
    (["run", "nope"], "unknown experiment 'nope'"),
    (["run", "maml-sinusoid", "--preset", "huge"], "unknown preset 'huge'"),
    (["run", "maml-sinusoid", "--set", "inner_lr=-1"], "inner_lr must be > 0"),
    (["run", "maml-sinusoid", "--set", "meta_lr=inf"], "meta_lr must be a finite number"),
    (["run", "maml-sinusoid", "--set", "meta_lr=nan"], "meta_lr must be a finite number"),
    (["run", "maml-sinusoid", "--set", "eval_k=0"], "eval_k must be >= 1"),
    (["run", "maml-sinusoid", "--set", "bogus=1"], "unknown config key 'bogus'"),
    (["run", "maml-sinusoid", "--out", "/proc/adaptax-cannot-write"], "cannot write"),
    (["resume", "/nonexistent/run"], "not a run folder"),
    (["report", "/nonexistent/run"], "not a run folder"),
])
def test_bad_input_exits_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_existing_out_is_never_written_over(tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    assert main(["run", "maml-sinusoid", *SMALL, "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_corrupt_checkpoint_on_resume_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    env = dict(os.environ, **{KILL_ENV: "maml:50", "ADAPTAX_NO_PROGRESS": "1"})
    subprocess.run([sys.executable, "-m", "adaptax.cli", "run", "maml-sinusoid", *SMALL,
                    "--out", str(run)], env=env, capture_output=True, timeout=600)
    data = run / "checkpoint" / "maml-50.msgpack"
    data.write_bytes(data.read_bytes()[:-7])
    assert main(["resume", str(run)]) == 2
    assert "corrupt" in capsys.readouterr().err
    assert data.exists()  # nothing deleted


class _Metrics(NamedTuple):
    loss: jnp.ndarray


def test_nan_stops_training_with_the_iteration_and_keeps_the_last_good_checkpoint(tmp_path):
    run = RunDir.create("fake", 0, out=tmp_path / "run")

    def run_fn(state, n):
        # iterations counted from 1; the loss is NaN from iteration 25 on
        steps = state + jnp.arange(1, n + 1)
        return state + n, _Metrics(jnp.where(steps >= 25, jnp.nan, 1.0 / steps))

    with pytest.raises(TrainingDiverged, match="at iteration 25; the last good checkpoint "
                                               r"\(iteration 20\)"):
        train_phase(run, experiment="fake", phase="p", run_fn=run_fn, state=jnp.array(0),
                    iterations=100, chunk=10, resume=False)
    state, step = checkpoint.load(run.checkpoint_dir, "p", jnp.array(0), experiment="fake")
    assert step == 20 and int(state) == 20
    assert [r["step"] for r in run.read_metrics()] == [10, 20]
    np.testing.assert_allclose(run.read_metrics()[-1]["loss_last"], 1 / 20)


def test_diverging_config_ends_with_one_line(tmp_path, capsys):
    # α = 1e30 makes the first inner step overflow float32, so the meta-loss is not finite.
    argv = ["run", "maml-sinusoid", *SMALL, "--set", "inner_lr=1e30", "--out", str(tmp_path / "r")]
    assert main(argv) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bar
    assert last.startswith("adaptax: error: maml: loss became nan at iteration 1;"), last
    assert "inner_lr" in last
    # nothing was trained, so the folder (only its config) is gone: no resume repeats the failure
    assert "was removed" in last and not (tmp_path / "r").exists()


def test_resuming_a_finished_phase_reports_its_whole_time_and_speed(tmp_path):
    run = RunDir.create("fake", 0, out=tmp_path / "run")

    def run_fn(state, n):
        return state + n, _Metrics(jnp.ones(n))

    first = train_phase(run, experiment="fake", phase="p", run_fn=run_fn, state=jnp.array(0),
                        iterations=30, chunk=10, resume=False)
    again = train_phase(run, experiment="fake", phase="p", run_fn=run_fn, state=jnp.array(0),
                        iterations=30, chunk=10, resume=True)
    assert again.iterations == 30 and int(again.state) == 30
    recorded = sum(r["seconds"] for r in run.read_metrics())
    assert again.seconds == pytest.approx(recorded) and first.seconds == pytest.approx(recorded,
                                                                                      abs=1e-3)
    assert np.isfinite(again.iters_per_second) and again.iters_per_second > 0


def test_time_limit_stops_at_a_chunk_end_and_resume_continues_only_without_it(tmp_path, capsys):
    run = RunDir.create("fake", 0, out=tmp_path / "run")

    def run_fn(state, n):  # each chunk takes at least 0.2 s of wall time
        time.sleep(0.2)
        return state + n, _Metrics(jnp.ones(n))

    kwargs = dict(experiment="fake", phase="p", run_fn=run_fn, state=jnp.array(0),
                  iterations=100, chunk=10)
    # 0.3 s: one chunk may not reach it, two always do
    first = train_phase(run, **kwargs, resume=False, time_limit=0.3)
    assert first.iterations in (10, 20) and int(first.state) == first.iterations
    assert checkpoint.load(run.checkpoint_dir, "p", jnp.array(0), experiment="fake")[1] == \
        first.iterations
    assert f"p: stopped by time_limit = 0.3 s after {first.iterations} of 100" in \
        capsys.readouterr().err
    again = train_phase(run, **kwargs, resume=True, time_limit=0.3)  # the limit is spent
    assert again.iterations == first.iterations
    done = train_phase(run, **kwargs, resume=True)
    assert done.iterations == 100 and int(done.state) == 100


def test_evaluation_protocol_test_tasks_validation_choice_and_interval():
    import jax

    from adaptax.experiments.maml_sinusoid import driver as ms  # _mse, _keys, evaluate
    from adaptax.experiments.protocol import split_key
    from adaptax.meta.maml import adaptation_curve
    from adaptax.meta.pretrain import choose_finetune_lr
    from adaptax.nets.mlp import MLP
    from adaptax.tasks import sinusoid

    config = ms.SinusoidConfig(eval_tasks=40, validation_tasks=30, eval_k=(5,), eval_steps=3,
                               methods=("maml", "pretrained"), finetune_lrs=(0.001, 0.01, 0.1))
    net = MLP(hidden=config.hidden, out=1)
    loss = ms._mse(net.apply)
    params = net.init(jax.random.PRNGKey(7), jnp.zeros((1, 1)))
    trained = {"maml": params, "pretrained": params}
    results = ms.evaluate(config, trained, loss, ms._keys(0))
    # the test tasks come from the test split's key, whatever the run seed
    assert ms.evaluate(config, trained, loss, ms._keys(3))["methods"] == results["methods"]
    test = sinusoid.sample_tasks(split_key("test", 5), 40, 5, 5)
    curve = np.asarray(jax.vmap(lambda s, q: adaptation_curve(
        loss, params, s, q, lr=config.inner_lr, steps=3))(test.support, test.query))
    maml = results["methods"]["maml"]["5"]
    np.testing.assert_allclose(maml["mean"], curve.mean(0), rtol=1e-5)
    # the authors' interval: 1.96·std/√N with the population std (np.std)
    np.testing.assert_allclose(maml["ci95"], 1.96 * curve.std(0) / np.sqrt(40), rtol=1e-5)
    # the pretrained step size is chosen on the validation tasks, not on the test tasks
    validation = sinusoid.sample_tasks(split_key("validation", 5), 30, 5, 5)
    assert not np.allclose(validation.amplitude[:30], test.amplitude[:30])
    chosen, _ = choose_finetune_lr(loss, params, validation, config.finetune_lrs, 3)
    assert results["pretrained_finetune_lr"]["5"] == chosen
    assert results["splits"]["test"] == {"split": "test", "key": "PRNGKey(1000000 + K)",
                                         "num": 40}
    assert results["splits"]["validation"]["num"] == 30


def test_ctrl_c_names_the_run_folder_to_resume(tmp_path, capsys, monkeypatch):
    import dataclasses

    from adaptax.experiments import registry

    def interrupted(config, run_dir, resume):
        raise KeyboardInterrupt

    exp = dataclasses.replace(registry.get("maml-sinusoid"), run=interrupted)
    monkeypatch.setattr(registry, "get", lambda name: exp)
    out = tmp_path / "run"
    assert main(["run", "maml-sinusoid", *SMALL, "--out", str(out)]) == 130
    assert f"continue with: adaptax resume {out}" in capsys.readouterr().err


def test_progress_is_a_line_per_chunk_when_stderr_is_not_a_terminal(tmp_path, capsys,
                                                                     monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("ADAPTAX_NO_PROGRESS", raising=False)
    run = RunDir.create("fake", 0, out=tmp_path / "run")

    def run_fn(state, n):
        return state + n, _Metrics(jnp.full(n, 0.5))

    train_phase(run, experiment="fake", phase="p", run_fn=run_fn, state=jnp.array(0),
                iterations=30, chunk=10, resume=False)
    err = capsys.readouterr().err
    assert "\r" not in err  # no progress-bar redraws in a log
    assert [line.split(",")[0] for line in err.splitlines()] == [
        "p: 10/30 iterations", "p: 20/30 iterations", "p: 30/30 iterations"]


def test_seed_i_of_a_multi_seed_run_equals_the_single_seed_run(tmp_path):
    tiny = ["--preset", "smoke", "--set", "iterations=100", "--set", "chunk=50",
            "--set", "eval_tasks=20", "--set", "validation_tasks=20", "--set", "eval_k=5",
            "--set", "methods=maml,pretrained"]
    assert main(["run", "maml-sinusoid", *tiny, "--seeds", "2", "--out",
                 str(tmp_path / "two")]) == 0
    assert main(["run", "maml-sinusoid", *tiny, "--seed", "1", "--out",
                 str(tmp_path / "one")]) == 0
    two = json.loads((tmp_path / "two" / "results.json").read_text())
    one = json.loads((tmp_path / "one" / "results.json").read_text())
    assert two["seeds"] == [0, 1] and two["config"]["seeds"] == 2
    for method in ("maml", "pretrained"):
        np.testing.assert_allclose(two["per_seed"][1]["methods"][method]["5"]["mean"],
                                   one["methods"][method]["5"]["mean"], rtol=1e-4)
        entry = two["methods"][method]["5"]
        means = np.asarray(entry["seed_means"])
        assert entry["interval"] == "across seeds" and means.shape == (2, 11)
        np.testing.assert_allclose(entry["mean"], means.mean(0))
        # t(0.975, 1) = 12.706: the half-width of two seeds' 95% interval is 12.706·|a − b|/2
        np.testing.assert_allclose(entry["ci95"], 12.706 * np.abs(means[0] - means[1]) / 2,
                                   rtol=1e-3)
    assert not np.allclose(two["per_seed"][0]["methods"]["maml"]["5"]["mean"],
                           two["per_seed"][1]["methods"]["maml"]["5"]["mean"])
    report = (tmp_path / "two" / "report.md").read_text()
    assert "across 2 seeds (0, 1)" in report and "**Each seed**" in report
    assert "--seed 0 --seeds 2`" in report  # the command that reruns it
