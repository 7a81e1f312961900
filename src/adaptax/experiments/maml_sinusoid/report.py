"""The ``report.md`` of a ``maml-sinusoid`` run: our numbers next to the paper's, with intervals.

Everything comes from the run folder's ``results.json`` and ``config.json``, so ``adaptax report
RUN`` rewrites the page (and the figures) without training.

Example:
  >>> interval_text({"eval_tasks": 600})
  'mean ± 95% interval over 600 tasks'
"""

from __future__ import annotations

from collections.abc import Sequence

from adaptax.experiments.experiment import Experiment
from adaptax.experiments.maml_sinusoid.figures import sinusoid_figures
from adaptax.reporting import (
    figures_markdown,
    fmt,
    label,
    not_comparable,
    provenance_text,
    table,
)
from adaptax.storage.runs import RunDir


def report(run_dir: RunDir, experiment: Experiment) -> str:
    """Writes ``report.md`` and the figures from ``results.json``; returns the markdown."""

    results = run_dir.read_results()
    figures = sinusoid_figures(results, run_dir.figures_dir)
    run_config = run_dir.read_config()
    text = sinusoid_report(results, run_config, figures, experiment.command_of(run_config))
    run_dir.write_report(text)
    return text


def sinusoid_report(
    results: dict, run_config: dict, figures: Sequence[str], command: str
) -> str:
    """The full ``report.md`` of a ``maml-sinusoid`` run (``command``: the one that reruns it)."""
    c = results["config"]
    lr = ", ".join(f"K={k}: {v}" for k, v in results.get("pretrained_finetune_lr", {}).items())
    train = "\n".join(
        f"- {label(m)}: {t['iterations']} iterations, final training loss "
        f"{t['final_loss']:.4f}, {t['iterations_per_second']:.0f} it/s"
        for m, t in results["train"].items()
    )
    return f"""# MAML — sinusoid regression

Command: `{command}`
(backend: {run_config.get('backend', '?')}, jax {run_config.get('versions', {}).get('jax', '?')})

Trained with K = {c['k_train']}, α = {c['inner_lr']}, {c['inner_steps']} inner step(s),
meta-batch {c['meta_batch']}, Adam {c['meta_lr']}, {c['iterations']} iterations per method,
network 1-{'-'.join(map(str, c['hidden']))}-1 ReLU.
Evaluation (the authors' code): {results['eval_tasks']} test tasks per K{_split_text(results)},
K support and K query points, query MSE after 0…{len(results['steps']) - 1} steps on the support
points; {_interval_method(results)}. Pretrained fine-tuning step size chosen on the
validation tasks: {lr or '—'}.

## Results
{_comparable(c)}
{sinusoid_tables(results)}

## Training

{train}

## Figures

{figures_markdown(figures)}

## Implementation notes

- Tasks are drawn inside the compiled training step (A ~ U[0.1, 5], φ ~ U[0, π], x ~ U[−5, 5]).
- MAML differentiates through the inner step (second order); first-order MAML stops the inner
  gradient. The pretrained model sees exactly MAML's data (support ∪ query of every task) with
  the same number of Adam steps; the oracle gets (x, A, φ) as input and is not adapted.
- The paper publishes K = 5 only; the K = 10 "reference" column is an internal measurement, not
  a published number, shown as a sanity check.

## Provenance

{provenance_text(results)}
"""


def sinusoid_tables(results: dict) -> str:
    """The paper-vs-ours tables of the sinusoid experiment."""
    out = []
    for ref, column, title in ((results["paper"], "published", "published"),
                               (results["reference_k10"], "reference", "reference")):
        k = ref["K"]
        if str(k) not in results["methods"]["maml"]:
            continue
        headers = ["method"]
        for s in ref["steps"]:
            headers += [f"{s} step{'s' if s > 1 else ''} (ours)", column]
        rows = []
        for method in ("maml", "pretrained"):
            if method not in results["methods"]:
                continue
            row = [label(method)]
            for j, s in enumerate(ref["steps"]):
                row += [_cell(results, method, k, s), f"{ref[method][j]:.2f}"]
            rows.append(row)
        out.append(f"**K = {k}** — {title}: {ref['source']}\n\n" + table(headers, rows))
    steps = [s for s in (0, 1, 2, 5, 10) if s < len(results["steps"])]
    headers = ["method", "K"] + [f"{s} step{'' if s == 1 else 's'}" for s in steps]
    rows = []
    for method, per_k in results["methods"].items():
        for k in per_k:
            rows.append([label(method), k] + [_cell(results, method, k, s) for s in steps])
    out.append(f"**All methods** (query MSE after j steps, {interval_text(results)})\n\n"
               + table(headers, rows))
    if "seeds" in results:
        out.append(_seeds_table(results, steps))
    notes = []
    for method, per_k in results["methods"].items():
        for k, entry in per_k.items():
            bad = entry.get("diverged", [0])[-1]
            if bad:
                notes.append(
                    f"- {label(method)}, K = {k}: after {len(entry['mean']) - 1} "
                    f"steps, {bad} of {results['eval_tasks']} tasks diverged (query loss "
                    f"non-finite or 10× its start); the median is "
                    f"{entry['median'][-1]:.3f}. Plain gradient descent at step size α overshoots "
                    "on a task whose support loss has curvature above 2/α."
                )
    if notes:
        out.append("**Divergence** (reported, not hidden: these tasks are in the means above)"
                   "\n\n" + "\n".join(notes))
    return "\n\n".join(out)


def _cell(results: dict, method: str, k: int, step: int) -> str:
    entry = results["methods"].get(method, {}).get(str(k))
    if entry is None or step >= len(entry["mean"]):
        return "—"
    return fmt(entry["mean"][step], entry["ci95"][step])


def interval_text(results: dict) -> str:
    """What a result's ± means: over the test tasks, or across the seeds of a multi-seed run.

    (:func:`adaptax.reporting.seeds_text` words it differently: "over the test tasks", no count.)
    """
    tasks = results.get("eval_tasks", "?")
    if "seeds" in results:
        return (f"mean ± 95% t-interval across {len(results['seeds'])} seeds "
                f"({', '.join(map(str, results['seeds']))}), each seed's mean over {tasks} tasks")
    return f"mean ± 95% interval over {tasks} tasks"


def _seeds_table(results: dict, steps: Sequence[int]) -> str:
    """Each seed's mean query MSE, per method and K."""
    headers = ["method", "K", "seed"] + [f"{s} step{'' if s == 1 else 's'}" for s in steps]
    rows = []
    for method, per_k in results["methods"].items():
        for k, entry in per_k.items():
            for seed, means in zip(results["seeds"], entry["seed_means"], strict=True):
                rows.append([label(method), k, seed] + [fmt(means[s]) for s in steps])
    return "**Each seed** (query MSE after j steps, mean over the test tasks)\n\n" + table(
        headers, rows)


def _interval_method(results: dict) -> str:
    if "seeds" in results:
        return (f"{interval_text(results)} (Student's t, {len(results['seeds']) - 1} degrees of "
                "freedom)")
    return "mean ± 95% interval (1.96·std/√tasks)"


def _comparable(config: dict) -> str:
    """A warning when the run trained far less than the paper, so its numbers are not the
    paper's setting (the smoke preset)."""
    if config["iterations"] >= 10_000:
        return ""
    return not_comparable(f"{config['iterations']} iterations per method (the paper: 70,000)")


def _split_text(results: dict) -> str:
    splits = results.get("splits", {})
    if "test" not in splits:
        return ""
    return (f" (test split, key {splits['test']['key']}; validation split, key "
            f"{splits['validation']['key']}, {splits['validation']['num']} tasks)")
