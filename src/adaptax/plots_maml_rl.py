"""Figures of the ``maml-rl-nav2d`` experiment (Finn et al. 2017, Figure 4 left)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLORS = {"maml": "tab:blue", "pretrained": "tab:orange", "random": "tab:gray",
          "oracle": "tab:green"}
LABELS = {"maml": "MAML", "pretrained": "pretrained", "random": "random init",
          "oracle": "oracle"}


def nav2d_figures(results: dict[str, Any], folder: Path) -> list[str]:
    """Writes ``return_vs_steps.png``, ``trajectories.png`` and ``training.png``.

    Args:
      results: the run's ``results.json`` (schema ``adaptax.maml-rl-nav2d.results/1``).
      folder: where the PNG files go.

    Returns:
      The file names written.
    """
    folder = Path(folder)
    names = []
    steps = results["steps"]
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for method, r in results["methods"].items():
        mean, se = np.asarray(r["mean"]), np.asarray(r["se"])
        if method == "oracle":
            ax.axhline(mean[0], color=COLORS[method], ls="--", label="oracle")
            continue
        ax.errorbar(steps, mean, yerr=se, marker="o", capsize=3, color=COLORS[method],
                    label=LABELS[method])
        paper = results.get("paper", {}).get(method)
        if paper:
            ax.plot(steps[:len(paper)], paper[:len(steps)], ls=":", color=COLORS[method],
                    alpha=0.6)
    ax.set_xticks(steps)
    ax.set_xlabel("number of gradient steps (0 = before adaptation)")
    ax.set_ylabel("average return")
    ax.set_title("2D navigation (dotted: paper)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "return_vs_steps.png", dpi=120)
    plt.close(fig)
    names.append("return_vs_steps.png")

    traj = results.get("trajectories", {})
    methods = [m for m in ("maml", "pretrained") if m in traj]
    if methods:
        goals = np.asarray(traj["goals"])
        fig, axes = plt.subplots(len(methods), len(goals), figsize=(3 * len(goals),
                                                                    3 * len(methods)),
                                 squeeze=False)
        for row, method in enumerate(methods):
            paths = np.asarray(traj[method])  # [goal, step, T, 2]
            for col, goal in enumerate(goals):
                ax = axes[row, col]
                for j in range(paths.shape[1]):
                    label = "pre-update" if j == 0 else f"{j} grad step{'s' if j > 1 else ''}"
                    ax.plot(paths[col, j, :, 0], paths[col, j, :, 1], lw=1, label=label)
                ax.plot(*goal, "r*", ms=12, label="goal")
                ax.plot(0, 0, "ko", ms=4)
                ax.set_xlim(-0.6, 0.6)
                ax.set_ylim(-0.6, 0.6)
                ax.set_aspect("equal")
                ax.set_title(f"{LABELS[method]}, goal {col}", fontsize=9)
                if row == len(methods) - 1:
                    ax.set_xlabel("x position")
                if col == 0:
                    ax.set_ylabel("y position")
        axes[0, 0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(folder / "trajectories.png", dpi=110)
        plt.close(fig)
        names.append("trajectories.png")

    curves = results.get("training_curves", {})
    if curves:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
        for phase, c in curves.items():
            color = COLORS.get(phase, "k")
            ax1.plot(c["step"], c["pre_return"], ls="--", color=color,
                     label=f"{LABELS.get(phase, phase)} pre-adaptation")
            if phase == "maml":
                ax1.plot(c["step"], c["post_return"], color=color, label="MAML post-adaptation")
            ax2.plot(c["step"], c["std"], color=color, label=f"{LABELS.get(phase, phase)} σ")
        ax1.set_xlabel("iteration")
        ax1.set_ylabel("training return")
        ax1.legend(fontsize=7)
        ax2.set_xlabel("iteration")
        ax2.set_ylabel("policy σ")
        ax2.set_yscale("log")
        ax2.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(folder / "training.png", dpi=110)
        plt.close(fig)
        names.append("training.png")
    return names
