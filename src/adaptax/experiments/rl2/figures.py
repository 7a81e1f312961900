"""Figures of the RL² experiments, drawn from ``results.json`` alone (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adaptax.reporting import color, fmt_setting, label, pyplot, save_figure


def learning_curve(results: dict[str, Any], folder: Path) -> list[str]:
    """Mean total reward per training trial vs environment steps: raw, with the paper's RL²,
    random and greedy scores as lines, and (when ``results["normalised"]`` exists) normalised
    as the paper's Figure 2 (reference = 1, random = 0); returns the file names written."""
    plt = pyplot()
    curve = results["curve"]
    norm = results.get("normalised")
    fig, axes = plt.subplots(1, 2 if norm else 1, figsize=(10 if norm else 5.5, 3.6),
                             squeeze=False)
    ax = axes[0, 0]
    marker = "o" if len(curve["env_steps"]) == 1 else None  # one chunk: a point, not a line
    ax.plot(curve["env_steps"], curve["trial_return"], color=color("rl2"), marker=marker,
            label="RL² (training)")
    paper = results["paper"]
    ax.axhline(paper["rl2"], color=color("rl2"), ls="--", lw=1, label="RL² (paper)")
    measured = results.get("classical", {})
    for agent, line_color, ls in (("random", color("random"), ":"), ("greedy", "tab:blue", "-.")):
        if agent in measured:  # the agent on the same test instances
            ax.axhline(measured[agent]["mean"], color=line_color, ls=ls, lw=1,
                       label=f"{agent} (same test instances)")
        elif agent in paper:
            ax.axhline(paper[agent], color=line_color, ls=ls, lw=1, label=f"{agent} (paper)")
    ax.set_title(f"{results['experiment']}: {fmt_setting(results['setting'])}")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("total reward per trial")
    ax.legend(fontsize=7, loc="lower right")
    if norm:
        ax = axes[0, 1]
        ax.plot(curve["env_steps"], norm["curve"], color=color("rl2"), marker=marker,
                label="RL² (training)")
        ax.axhline(1.0, color="k", ls="--", lw=1,
                   label=f"{label(norm['reference'], agent=True)} = 1")
        ax.axhline(0.0, color=color("random"), ls=":", lw=1, label="random = 0")
        ax.set_xlabel("environment steps")
        ax.set_ylabel("normalised total reward")
        ax.set_title("normalised as the paper's Figure 2")
        ax.legend(fontsize=7, loc="lower right")
    return [save_figure(fig, folder, "learning_curve.png")]
