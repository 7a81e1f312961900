"""The ``adaptax`` command line: list, run, reproduce, report, resume.

Every user error (unknown experiment or preset, bad ``--set``, unwritable ``--out``, corrupt
checkpoint, diverged training) ends with one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from adaptax.errors import AdaptaxError


class _Interrupted(Exception):
    """Ctrl-C while a run folder exists: the message names the folder to resume."""

    def __init__(self, path: Path):
        super().__init__(str(path))
        self.path = path


def _run_experiment(exp, config, run_dir, resume: bool) -> None:
    try:
        exp.run(config, run_dir, resume)
        exp.write_report(run_dir)
    except KeyboardInterrupt:
        raise _Interrupted(run_dir.path) from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="adaptax", description="Meta-learning reproductions in JAX.")
    sub = p.add_subparsers(dest="command", required=True)

    ls = sub.add_parser("list", help="list the experiments and their presets")
    ls.add_argument("experiment", nargs="?", default=None, help="only this experiment")
    ls.add_argument("--verbose", "-v", action="store_true", help="show every config key")
    ls.add_argument("--preset", default=None,
                    help="with -v: the values of this preset, marking the keys it changes")

    for name, help_text in (("run", "train and evaluate an experiment"),
                            ("reproduce", "run an experiment at the paper preset")):
        r = sub.add_parser(name, help=help_text)
        r.add_argument("experiment")
        if name == "run":
            r.add_argument("--preset", default="default")
        r.add_argument("--seed", type=int, default=None, help="overrides the config's seed")
        r.add_argument("--seeds", type=int, default=None,
                       help="train seeds SEED … SEED+N−1 together in one compiled run")
        r.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config value (repeatable)")
        r.add_argument("--out", default=None, help="the run folder (default: runs/EXP/TIME-sSEED)")
        _distributed_flags(r)

    rep = sub.add_parser("report", help="rewrite report.md and figures of a finished run")
    rep.add_argument("run_dir")
    res = sub.add_parser("resume", help="continue a stopped run from its last checkpoint")
    res.add_argument("run_dir")
    res.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                     help="change an evaluation key (e.g. eval_tasks) and evaluate again")
    res.add_argument("--evaluate", action="store_true",
                     help="evaluate a finished run again (it is not retrained)")
    _distributed_flags(res)
    return p


def _distributed_flags(p: argparse.ArgumentParser) -> None:
    """One process per host: jax.distributed settings (or ADAPTAX_COORDINATOR, …)."""
    p.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                   help="process 0's address: join a multi-process run (one process per host)")
    p.add_argument("--num-processes", type=int, default=None, help="processes in the run")
    p.add_argument("--process-id", type=int, default=None, help="this process, 0 … n−1")


def _start_jax(args: argparse.Namespace, config) -> None:
    """Host devices and the multi-process runtime, before JAX starts its backend."""
    from adaptax import parallel

    parallel.request_host_devices(getattr(config, "host_devices", 1))
    parallel.initialize(args.coordinator, args.num_processes, args.process_id)


def _scratch(run_dir):
    """Processes other than 0 write nothing in the run folder: they work in a private copy
    (deleted at the end), so a resume reads the same checkpoints on every process."""
    import shutil
    import tempfile

    from adaptax.storage.runs import RunDir

    copy = Path(tempfile.mkdtemp(prefix="adaptax-process-")) / "run"
    if run_dir is not None:
        shutil.copytree(run_dir.path, copy)
        return RunDir.open(copy)
    return copy


def _list(experiment: str | None, verbose: bool, preset: str | None) -> None:
    from adaptax.experiments import config as cfg
    from adaptax.experiments import registry

    for name in [experiment] if experiment else registry.names():
        exp = registry.get(name)
        print(f"{name:20s} {exp.description}")
        print(f"{'':20s} presets: {', '.join(exp.presets)}")
        if not verbose:
            continue
        shown = preset or "default"
        values = cfg.to_dict(exp.make_config(shown))
        print(f"{'':22s}values of preset {shown!r} (* = set by the preset):")
        for key, help_text, _ in cfg.describe(exp.config_cls):
            mark = "*" if key in exp.presets[shown] else " "
            print(f"{'':20s}{mark} {key} = {cfg.format_value(values[key])}: {help_text}")


def _run(args: argparse.Namespace, preset: str) -> Path | None:
    from adaptax.experiments import config as cfg
    from adaptax.experiments import registry
    from adaptax.storage.runs import RunDir

    exp = registry.get(args.experiment)
    overrides = cfg.parse_sets(exp.config_cls, args.sets)
    if args.seed is not None:
        if args.seed < 0:
            raise AdaptaxError(f"--seed must be >= 0, got {args.seed}")
        overrides["seed"] = args.seed
    if args.seeds is not None:
        if "seeds" not in {f.name for f in dataclasses.fields(exp.config_cls)}:
            raise AdaptaxError(f"{exp.name} trains no networks: --seeds does not apply")
        overrides["seeds"] = args.seeds
    config = exp.make_config(preset, overrides)
    _start_jax(args, config)
    from adaptax import parallel

    if not parallel.is_writer():
        run_dir = RunDir.create(exp.name, getattr(config, "seed", 0), out=_scratch(None))
        run_dir.write_config(exp.name, preset, cfg.to_dict(config))
        try:
            _run_experiment(exp, config, run_dir, False)
        finally:
            _drop_scratch(run_dir)
        return None
    run_dir = RunDir.create(exp.name, getattr(config, "seed", 0), out=args.out)
    run_dir.write_config(exp.name, preset, cfg.to_dict(config))
    print(f"run folder: {run_dir.path}", file=sys.stderr)
    try:
        _run_experiment(exp, config, run_dir, False)
    except AdaptaxError as e:
        saved = run_dir.checkpoint_dir.is_dir() and any(run_dir.checkpoint_dir.iterdir())
        if saved or (run_dir.path / "results.json").exists():
            raise
        # nothing trained was saved: a resume would only repeat the failure
        import shutil

        shutil.rmtree(run_dir.path, ignore_errors=True)
        raise type(e)(f"{e} (the run folder {run_dir.path} held nothing trained and was "
                      "removed)") from None
    return run_dir.path


def _drop_scratch(run_dir) -> None:
    import shutil

    shutil.rmtree(run_dir.path.parent, ignore_errors=True)


def _resume(args: argparse.Namespace) -> Path | None:
    from adaptax.experiments import config as cfg
    from adaptax.experiments import registry
    from adaptax.storage.runs import RunDir

    path, sets, evaluate = args.run_dir, args.sets, args.evaluate
    run_dir = RunDir.open(path)
    record = run_dir.read_config()
    exp = registry.get(record["experiment"])
    config = cfg.from_dict(exp.config_cls, record["config"])
    overrides = cfg.parse_sets(exp.config_cls, sets)
    training = sorted(set(overrides) - set(exp.eval_keys))
    if training:
        allowed = ", ".join(exp.eval_keys) or "none"
        raise AdaptaxError(
            f"resume --set can change only evaluation keys of {exp.name} ({allowed}); "
            f"{training[0]} changes training: start a new run with adaptax run")
    if (run_dir.path / "results.json").exists() and not (overrides or evaluate):
        print(f"{run_dir.path} is complete; `adaptax report {run_dir.path}` rewrites its report, "
              f"`adaptax resume {run_dir.path} --evaluate` evaluates it again (--set changes an "
              f"evaluation key)", file=sys.stderr)
        return run_dir.path
    if overrides:
        config = cfg.apply_overrides(config, overrides)
    _start_jax(args, config)
    from adaptax import parallel

    if overrides and parallel.is_writer():
        run_dir.update_config(cfg.to_dict(config))
    if not parallel.is_writer():
        scratch = _scratch(run_dir)
        try:
            _run_experiment(exp, config, scratch, True)
        finally:
            _drop_scratch(scratch)
        return None
    _run_experiment(exp, config, run_dir, True)
    return run_dir.path


def _report(exp, run_dir) -> None:
    """Rewrites a run's report; a results.json of another experiment, or one missing what the
    report needs, ends in one line."""
    results = run_dir.read_results()
    fix = f"rewrite it with: adaptax resume {run_dir.path} --evaluate"
    if not isinstance(results, dict) or results.get("experiment") != exp.name:
        found = results.get("experiment") if isinstance(results, dict) else None
        raise AdaptaxError(f"{run_dir.path}/results.json holds {found!r} results, not "
                           f"{exp.name!r}; {fix}")
    try:
        exp.write_report(run_dir)
    except (KeyError, IndexError, TypeError) as e:
        raise AdaptaxError(f"{run_dir.path}/results.json lacks what the report needs "
                           f"({type(e).__name__}: {e}); {fix}") from None


def _finish(path: Path) -> None:
    report = path / "report.md"
    if report.exists():
        print(report.read_text().split("## Results", 1)[-1].split("## Training", 1)[0].strip())
    print(f"\nrun folder: {path}\nreport:     {report}\nfigures:    {path / 'figures'}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``adaptax`` command."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            if args.preset and not args.verbose:
                raise AdaptaxError("--preset needs -v: adaptax list -v EXPERIMENT --preset P")
            _list(args.experiment, args.verbose, args.preset)
            return 0
        if args.command in ("run", "reproduce"):
            path = _run(args, getattr(args, "preset", "paper"))
        elif args.command == "resume":
            path = _resume(args)
        else:
            from adaptax.experiments import registry
            from adaptax.storage.runs import RunDir

            run_dir = RunDir.open(args.run_dir)
            _report(registry.get(run_dir.read_config()["experiment"]), run_dir)
            path = run_dir.path
        if path is not None:  # None: a process other than 0 of a multi-process run
            _finish(path)
        return 0
    except AdaptaxError as e:
        print(f"adaptax: error: {e}", file=sys.stderr)
        return 2
    except _Interrupted as e:
        print(f"adaptax: interrupted; continue with: adaptax resume {e.path}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("adaptax: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
