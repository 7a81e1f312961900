"""``report.md`` of the baselines experiments, from ``results.json`` alone: the paper-vs-ours
table, the chosen hyper-parameters, the cells that miss the paper and how lucky the instances are.

Example:
  >>> cell = {"mean": 6.71, "se": 0.1, "paper": 6.6, "bold": True, "within_2se": True}
  >>> print(format_table({"columns": ["ucb1"], "labels": {"ucb1": "UCB1"},
  ...                     "rows": [{"label": "10, 5", "cells": {"ucb1": cell}}]}))
  | setting | UCB1 |
  |---|---|
  | 10, 5 | **6.7 ± 0.1** (6.6) |
"""

from __future__ import annotations

from typing import Any

from adaptax.experiments.baselines.figures import baseline_bars
from adaptax.experiments.experiment import Experiment
from adaptax.experiments.protocol import describe_split
from adaptax.reporting import figures_markdown, fmt, fmt_hparams, table
from adaptax.storage.runs import RunDir


def report(run_dir: RunDir, experiment: Experiment) -> str:
    """Writes ``report.md`` and the figure from ``results.json``; returns the markdown."""

    results = run_dir.read_results()
    figure = baseline_bars(results, run_dir.figures_dir)
    misses = [
        f"{row['label']} {results['labels'].get(c, c)}: {fmt(cell['mean'], cell['se'], 2)} "
        f"vs {cell['paper']}"
        for row in results["rows"] for c, cell in row["cells"].items()
        if cell.get("paper") is not None and not cell.get("within_2se")
    ]
    title = "RL² Table 1 — bandits" if "bandits" in results["experiment"] else "RL² Table 2 — MDPs"
    command = experiment.command_of(run_dir.read_config(),
                                                           always=("mode",))
    text = f"""# {title}: the classical baselines ({results['mode']} mode)

Command: `{command}`; {_where(results)}, shared with RL²'s evaluation; outcome seed
{results['seed']}; {results['seconds']:.0f} s.

Each cell: ours, mean ± standard error, with the paper's value in brackets (✗: more than two
standard errors away). Bold: not significantly worse than the best of the row (one-sided Welch
t-test, p = 0.05), as in the paper. {_tuning_text(results)}

{format_table(results)}

{_rl2_sources(results)}

## Chosen hyper-parameters

{_hparam_table(results)}

## Cells more than two standard errors from the paper

{chr(10).join('- ' + m for m in misses) if misses else 'None.'}

The paper's values come from its own draw of instances, so a cell also moves with how good our
instance set happens to be. {_luck(results)}

{figures_markdown([figure])}
"""
    run_dir.write_report(text)
    return text


def format_table(results: dict[str, Any]) -> str:
    """The paper-vs-ours markdown table: each cell 'ours ± se (paper)', bold as the paper."""
    columns = list(results["columns"])
    extra = [c for c in ("bayes_optimal", "rl2")
             if any(c in row["cells"] for row in results["rows"])]
    headers = ["setting"] + [results["labels"].get(c, c) for c in columns + extra]
    body = []
    for row in results["rows"]:
        line = [row["label"]]
        for c in columns + extra:
            cell = row["cells"].get(c)
            if cell is None:
                line.append("—")
                continue
            text = fmt(cell["mean"], cell["se"], 1)
            if cell["bold"]:
                text = f"**{text}**"
            if cell.get("paper") is not None:
                flag = "" if cell.get("within_2se") else " ✗"
                text += f" ({cell['paper']}{flag})"
            line.append(text)
        body.append(line)
    return table(headers, body)


def _hparam_table(results: dict[str, Any]) -> str:
    rows = [[row["label"], results["labels"].get(c, c), fmt_hparams(cell["hparam"])]
            for row in results["rows"] for c, cell in row["cells"].items() if cell["hparam"]]
    return table(["setting", "agent", "chosen"], rows) if rows else "(no grids)"


def _rl2_sources(results: dict[str, Any]) -> str:
    sources = sorted({row["cells"]["rl2"]["source"] for row in results["rows"]
                      if "rl2" in row["cells"]})
    if not sources:
        return ("No RL² column: no finished RL² run on these instances was found under "
                f"`{results['config'].get('rl2_runs')}`.")
    return "RL² column read from: " + ", ".join(f"`{s}`" for s in sources)


def _luck(results: dict[str, Any]) -> str:
    lines = [
        f"- {row['label']}: {row['instances']['mean_best_p']:.4f} vs "
        f"{row['instances']['expected']:.4f} (z = {row['instances']['z']:+.1f})"
        for row in results["rows"] if "instances" in row
    ]
    if not lines:
        return ""
    return ("For bandits, the mean best-arm probability of each row's instances against its "
            "expectation k/(k+1) (z in standard errors of that mean):\n" + "\n".join(lines))


def _where(results: dict[str, Any]) -> str:
    test = results.get("splits", {}).get("test")
    if test is None:
        return f"{results['instances']} instances per cell"
    return f"{test['num']} instances per cell ({describe_split('test', test['num'])})"


def _tuning_text(results: dict[str, Any]) -> str:
    """How the hyper-parameters were chosen: the paper's protocol or on validation instances."""
    validation = results.get("splits", {}).get("validation")
    if validation is None:
        return ("Hyper-parameters chosen per setting by the best mean over the authors' grid on "
                "these same test instances: the paper's protocol, which flatters every tuned "
                "agent a little (`--set mode=clean` chooses on validation instances instead).")
    return ("Hyper-parameters chosen per setting by the best mean over the grid on "
            f"{validation['num']} instances of the validation split "
            f"({describe_split('validation', validation['num'])}), then scored on the test "
            "instances.")
