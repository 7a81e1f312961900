"""``report.md`` of a ``maml-omniglot`` or ``maml-miniimagenet`` run, drawn from its
``results.json`` alone."""

from __future__ import annotations

from typing import Any

from adaptax.experiments.experiment import Experiment
from adaptax.experiments.maml_fewshot.figures import omniglot_figures
from adaptax.reporting import (
    figures_markdown,
    fmt,
    label,
    not_comparable,
    provenance_text,
    seeds_text,
    table,
)
from adaptax.storage.runs import RunDir

_SETS = {"validation": "validation tasks", "test": "test tasks", "lake": "Lake's 20 runs"}


def report(run_dir: RunDir, experiment: Experiment) -> str:
    """Writes ``report.md`` and the figures from ``results.json``; returns the markdown."""
    results = run_dir.read_results()
    run_config = run_dir.read_config()
    figures = omniglot_figures(results, run_dir.figures_dir)
    c, d = results["config"], results["data"]
    omniglot = results["experiment"] == "maml-omniglot"
    text = f"""# MAML — {'Omniglot' if omniglot else 'MiniImagenet'} {c['way']}-way {c['shot']}-shot

Command: `{experiment.command_of(run_config)}`

Data: {d['source']}; {_data_text(d, omniglot)}. Conv4 with {c['filters']} filters
({'stride-2 convolutions' if omniglot else '2×2 max-pooling'}, {_norm_text(c)});
{c['inner_steps']} inner step(s) at α = {c['inner_lr']} in training, {c['eval_steps']} at test;
meta-batch {c['meta_batch']}, Adam {c['meta_lr']}, {c['iterations']} iterations per method;
{c['query']} query image(s) per class{', training classes turned by random multiples of 90°'
if c.get('rotations') else ''}.

## Results
{_comparable(c)}
{results_table(results)}

Each cell: query accuracy % after j inner steps at test, {seeds_text(results, 'tasks')}.
{_lake_text(results)}

## Training

{_training_text(results)}

## Figures

{figures_markdown(figures)}

## Deviations from the paper

{_deviations(c, omniglot)}

## Provenance

{provenance_text(results)}
"""
    (run_dir.path / "report.md").write_text(text)
    return text


def results_table(results: dict[str, Any]) -> str:
    """Accuracy after 0, 1 and the last step on each evaluation set, beside the paper's cell."""
    steps = results["steps"]
    shown = sorted({0, 1, steps[-1]})
    cells = (results.get("paper") or {}).get("cells", {})
    headers = ["method", "tasks"] + [f"{s} step{'' if s == 1 else 's'}" for s in shown]
    headers.append("paper")
    rows = []
    for method, entry in results["methods"].items():
        for name in ("validation", "test"):
            if name not in entry:
                continue
            e = entry[name]
            cell = cells.get(method) if name == "test" else None
            paper = fmt(*cell, digits=1) if cell else "—"
            rows.append([label(method), f"{_SETS[name]} ({e['tasks']})"]
                        + [fmt(e["mean"][s], e["ci95"][s], 1) for s in shown] + [paper])
    return table(headers, rows)


def _lake_text(results: dict[str, Any]) -> str:
    rows = []
    for method, entry in results["methods"].items():
        if "lake" in entry:
            e = entry["lake"]
            rows.append([label(method) + " (ours)", fmt(e["mean"][-1], e["ci95"][-1], 1),
                         fmt(e["mean"][0], e["ci95"][0], 1)])
    if not rows:
        return ""
    refs = results["lake_references"]
    rows += [[name, f"{value:.1f}", ""] for name, value in refs["references"].items()]
    return ("\n**Lake's 20-way one-shot benchmark** (error %, 20 runs × 20 test drawings; ours "
            f"after {results['steps'][-1]} steps and before adapting, ± 95% interval over the "
            f"runs; references: {refs['source']}, the people and BPL rows on the full "
            "background set)\n\n" + table(["method", "error %", "before adapting"], rows))


def _data_text(d: dict[str, Any], omniglot: bool) -> str:
    """The classes of each split, in words."""
    if not omniglot:
        return (f"{d['train_classes']} training, {d['validation_classes']} validation and "
                f"{d['test_classes']} test classes of {d['test_examples']} images")
    lake = (f"; Lake's {d['lake_runs']} one-shot runs (evaluation alphabets, never trained on)"
            if d.get("lake_runs") else "")
    return (f"{d['train_classes']} training characters ({d['train_alphabets']} alphabets), "
            f"{d['validation_classes']} validation characters (permutation seed "
            f"{d['split_seed']}), {d['test_classes']} test characters with "
            f"{d['test_examples']} drawings each{lake}")


def _comparable(c: dict[str, Any]) -> str:
    reasons = []
    if c.get("split", "paper") != "paper":
        reasons.append("not the paper's 1200 / 423 split of the full Omniglot")
    if c["iterations"] < 60_000:
        reasons.append(f"{c['iterations']:,} iterations (the paper: 60,000)")
    return not_comparable("; ".join(reasons)) if reasons else ""


def _training_text(results: dict[str, Any]) -> str:
    return "\n".join(
        f"- {label(m)}: {t['iterations']} iterations, final query loss {t['final_loss']:.3f}, "
        f"{t['iterations_per_second']:.2f} it/s, {t['train_seconds']:.0f} s"
        for m, t in results["train"].items())


def _deviations(c: dict[str, Any], omniglot: bool) -> str:
    rows = [["test tasks", "no rotations; task i drawn from key test + i", "600 random tasks"]]
    if omniglot:
        rows = [
            ["validation characters", f"{c['validation_classes']} held out of the training "
             "characters; every choice is made there", "not stated"],
            ["rotations", "a random multiple of 90° per class and task", "4 rotated copies "
             "of every character as classes"],
            *rows]
    return table(["what", "adaptax", "paper"], rows)


def _norm_text(config: dict[str, Any]) -> str:
    """How the run's BatchNorm normalises."""
    if config.get("norm", "batch") == "running":
        return ("BatchNorm with running statistics: batch statistics in training, their running "
                "averages at test, each image classified on its own (`norm=running`)")
    return ("BatchNorm on the statistics of the batch it sees, at training and test: the "
            "paper's transductive setting")
