"""The baselines experiments' figure, drawn from ``results.json`` alone (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adaptax.reporting import color, pyplot, save_figure


def _setting_words(setting: dict[str, Any]) -> str:
    """A table row's setting in words, e.g. "n = 100 pulls, k = 10 arms".

    Example:
      >>> _setting_words({"n": 100, "k": 10}), _setting_words({"n": 25})
      ('n = 100 pulls, k = 10 arms', 'n = 25 episodes')
    """
    if "k" in setting:
        return f"n = {setting['n']} pulls, k = {setting['k']} arms"
    return f"n = {setting['n']} episodes"


def baseline_bars(results: dict[str, Any], folder: Path) -> str:
    """One panel per table row: each agent's mean ± s.e. as a bar, the paper's value as a dot;
    returns the file name written."""
    plt = pyplot()
    rows = results["rows"]
    cols = min(3, len(rows))
    nrows = (len(rows) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(4.6 * cols, 3.2 * nrows), squeeze=False)
    for ax, row in zip(axes.flat, rows, strict=False):
        names = list(row["cells"])
        means = [row["cells"][c]["mean"] for c in names]
        ses = [row["cells"][c]["se"] for c in names]
        xs = range(len(names))
        ax.bar(xs, means, yerr=ses, color=color("ours"), alpha=0.7, label="ours")
        paper = [(i, row["cells"][c]["paper"]) for i, c in enumerate(names)
                 if row["cells"][c].get("paper") is not None]
        if paper:
            ax.scatter(*zip(*paper, strict=True), color=color("paper"), marker="D", s=25,
                       zorder=3, label="paper")
        ax.set_xticks(list(xs), [results["labels"].get(c, c) for c in names], rotation=45,
                      ha="right", fontsize=7)
        lo = min(means) * 0.9
        ax.set_ylim(lo, max(max(means), max((p for _, p in paper), default=0)) * 1.03)
        ax.set_title(_setting_words(row["setting"]), fontsize=9)
        ax.set_ylabel("total reward per trial", fontsize=8)
    for ax in list(axes.flat)[len(rows):]:
        ax.axis("off")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"{results['experiment']} ({results['mode']} mode): total reward per trial",
                 fontsize=10)
    return save_figure(fig, folder, "baselines.png")
