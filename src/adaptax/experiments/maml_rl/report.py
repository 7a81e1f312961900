"""The MAML-RL reports: ``report.md`` and the figures of a run folder's ``results.json``.

Example:
  >>> results = {"steps": [0, 1], "methods": {"maml": {"mean": [-40.0, -12.0], "se": [1.0, 0.5]}}}
  >>> print(results_table(results))
  | method | source | pre-adaptation (0 steps) | after 1 step |
  |---|---|---|---|
  | MAML | ours | -40.0 ± 1.0 | -12.0 ± 0.5 |
  | MAML | paper | -40.4 | -11.7 |
"""

from __future__ import annotations

from typing import Any

from adaptax.experiments.experiment import Experiment
from adaptax.experiments.maml_rl.config import METHODS, PAPER
from adaptax.experiments.maml_rl.figures import nav2d_figures
from adaptax.experiments.protocol import describe_split
from adaptax.reporting import (
    figures_markdown,
    fmt_list,
    label,
    not_comparable,
    provenance_text,
    table,
    verdict,
)
from adaptax.storage.runs import RunDir


def results_table(results: dict[str, Any], preset: str = "") -> str:
    """Markdown table: ours (mean ± SE) beside the paper, pre- and post-adaptation labelled."""
    steps = results["steps"]
    ours_label = f"ours (`{preset}`)" if preset else "ours"
    head = ["method", "source", "pre-adaptation (0 steps)"] + [
        f"after {j} step{'s' if j > 1 else ''}" for j in steps[1:]]
    rows = []
    for method in METHODS:
        if method not in results["methods"]:
            continue
        r = results["methods"][method]
        ours = [f"{m:.1f} ± {s:.1f}" for m, s in zip(r["mean"], r["se"], strict=True)]
        paper = [f"{v:.1f}" for v in results.get("paper", PAPER)[method]]
        if method == "oracle":
            ours += ["—"] * (len(steps) - 1)
            paper += ["—"] * (len(steps) - 1)
        rows.append([label(method), ours_label, *ours])
        rows.append([label(method), "paper", *paper[:len(steps)]])
    return table(head, rows)


def report(run_dir: RunDir, experiment: Experiment) -> str:
    """Writes ``report.md`` and the figures from ``results.json``; returns the markdown."""

    results = run_dir.read_results()
    run_config = run_dir.read_config()
    figures = nav2d_figures(results, run_dir.figures_dir)
    c = results["config"]
    train = "\n".join(
        f"- {label(m)}: {t['iterations']} iterations, "
        f"{t['iterations_per_second']:.3g} it/s, {t['train_seconds']:.0f} s"
        + (f", data-parallel over {t['devices']} devices" if t.get("devices", 1) > 1 else "")
        for m, t in results["train"].items())
    diag = "\n".join(
        f"- {label(m)}: σ per step {fmt_list(d['std'])}; KL moved per step "
        f"{fmt_list(d['step_kl'], 4)}; inner-gradient norm {fmt_list(d['grad_norm'])}"
        + (f"; advantage std of each step's batch {fmt_list(d['adv_std'])}" if "adv_std" in d
           else "")
        for m, d in results.get("adaptation_diagnostics", {}).items())
    preset = run_config.get("preset", "")
    splits = results.get("splits", {})
    test = splits.get("test")
    where = (describe_split("test", test["num"]) if test else f"{results['eval_tasks']} tasks")
    task = c.get("task", "nav2d")
    text = f"""# MAML-RL — {TITLES[task]}

Command: `{experiment.command_of(run_config)}`
{_comparable_note(c)}
Policy Gaussian MLP, hidden {'-'.join(map(str, c['hidden']))} ReLU, state-independent log σ.
Training: meta-batch {c['meta_batch']} tasks × {c['num_trajs']} trajectories × horizon
{c['horizon']}; inner {c['inner_estimator'].upper()} step α = {c['inner_lr']},
{c['train_inner_steps']} inner step(s) trained through (objective: {c['meta_objective']});
TRPO δ = {c['max_kl']}, damping {c['damping']:g}, {c['cg_iters']} CG iterations, {c['hvp']}
Fisher-vector products on {c['fvp_subsample']:g} of the data (by {c['fvp_subsample_by']});
{c['iterations']} MAML / {c['baseline_iterations']} baseline iterations.
Evaluation: {results['eval_tasks']} test tasks ({where}), {results['eval_trajs']} trajectories
per step, step sizes: {_step_sizes(results)}. Returns are per trajectory, {_spread(results)}.
"Pre-adaptation" is the return of the meta-trained policy itself, before any gradient
step; "after j steps" is the return after j policy-gradient steps on the new task.

## Results

{results_table(results, preset)}

{_comparison_text(results)}

## Training

{train}

Adaptation diagnostics (test tasks, mean over tasks):
{diag}

## Figures

{figures_markdown(figures)}

## Provenance

{provenance_text(results)}
"""
    run_dir.write_report(text)
    return text


def _spread(results: dict[str, Any]) -> str:
    """What a result's ± means: over the test goals, or across the seeds of a multi-seed run."""
    if "seeds" not in results:
        return "mean ± standard error over tasks"
    seeds = results["seeds"]
    each = "; ".join(
        f"seed {seed}: " + " / ".join(f"{v:.1f}" for v in means)
        for seed, means in zip(seeds, results["methods"]["maml"]["seed_means"], strict=True))
    return (f"mean ± standard error across {len(seeds)} seeds (each seed's mean over goals; "
            f"MAML after 0…{len(results['steps']) - 1} steps, {each}); the Welch tests compare "
            "each goal's return averaged over the seeds")


TITLES = {"nav2d": "2D navigation", "cheetah-vel": "half-cheetah, goal velocity",
          "cheetah-dir": "half-cheetah, forward/backward", "ant-vel": "ant, goal velocity",
          "ant-dir": "ant, forward/backward"}


def _comparable_note(config: dict[str, Any]) -> str:
    """A warning when the run's sizes or simulator make its numbers incomparable with the
    paper's."""
    task = config.get("task", "nav2d")
    paper_horizon = 100 if task == "nav2d" else 200
    notes = []
    if config["horizon"] != paper_horizon:
        notes.append(f"horizon {config['horizon']} (the paper's is {paper_horizon}), so returns "
                     "are on another scale")
    if task != "nav2d":
        notes.append("MuJoCo 3+ and Gymnasium's models against the paper's rllab on MuJoCo "
                     "1.31 (docs/maml-rl-locomotion.md lists the differences): compare the "
                     "ordering of the methods, not the absolute returns")
    return not_comparable("; ".join(notes)) if notes else ""


def _comparison_text(results: dict[str, Any]) -> str:
    """MAML against pretrained and random init on the same goals, step by step."""
    comps = results.get("comparisons") or {}
    if not comps:
        return ""
    lines = ["Same test tasks, one-sided Welch t-tests (p < 0.05): MAML minus the other method "
             "after each step."]
    for other, per_step in comps.items():
        cells = [f"step {j}: {verdict(c, digits=1)}" for j, c in enumerate(per_step, 1)]
        lines.append(f"- vs {label(other)}: " + "; ".join(cells))
    return "\n".join(lines)


def _step_sizes(results: dict[str, Any]) -> str:
    """The step sizes of each method, and how the fine-tuning ones were chosen."""
    out = []
    for m, sizes in results["step_sizes"].items():
        text = f"{label(m)} {fmt_list(sizes)}"
        sel = results.get("finetune_lr_selection", {}).get(m)
        if sel:
            text += (f" (α = {sel['chosen']:g} chosen on the validation tasks from "
                     f"{fmt_list(sel['grid'])}, mean post-adaptation returns "
                     f"{fmt_list(sel['scores'])})")
        out.append(text)
    return "; ".join(out)
