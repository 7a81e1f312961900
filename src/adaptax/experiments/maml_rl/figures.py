"""Figures of the ``maml-rl-nav2d`` experiment (Finn et al. 2017, Figure 4 left)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from adaptax.reporting import color, label, pyplot, save_figure


def nav2d_figures(results: dict[str, Any], folder: Path) -> list[str]:
    """Writes ``return_vs_steps.png``, ``trajectories.png`` and ``training.png``.

    Args:
      results: the run's ``results.json`` (schema ``adaptax.maml-rl-nav2d.results/1``).
      folder: where the PNG files go.

    Returns:
      The file names written.
    """
    names = [_returns(results, folder)]
    traj = results.get("trajectories", {})
    if any(m in traj for m in ("maml", "pretrained")):
        names.append(_trajectories(traj, folder))
    if results.get("training_curves"):
        names.append(_training(results["training_curves"], folder))
    return names


def _returns(results: dict[str, Any], folder: Path) -> str:
    """Return after 0…eval_steps gradient steps, ours (mean ± SE) and the paper's (dotted)."""
    plt = pyplot()
    steps = results["steps"]
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for method, r in results["methods"].items():
        mean, se = np.asarray(r["mean"]), np.asarray(r["se"])
        if method == "oracle":
            ax.axhline(mean[0], color=color(method), ls="--", label="oracle")
            continue
        ax.errorbar(steps, mean, yerr=se, marker="o", capsize=3, color=color(method),
                    label=label(method))
        paper = results.get("paper", {}).get(method)
        if paper:
            ax.plot(steps[:len(paper)], paper[:len(steps)], ls=":", color=color(method),
                    alpha=0.6)
    ax.set_xticks(steps)
    ax.set_xlabel("number of gradient steps (0 = before adaptation)")
    ax.set_ylabel("average return")
    ax.set_title("2D navigation (dotted: paper)")
    ax.legend(fontsize=8)
    return save_figure(fig, folder, "return_vs_steps.png", dpi=120)


def _trajectories(traj: dict[str, Any], folder: Path) -> str:
    """One sampled path per goal before and after each step, for MAML and pretrained."""
    plt = pyplot()
    methods = [m for m in ("maml", "pretrained") if m in traj]
    goals = np.asarray(traj["goals"])
    fig, axes = plt.subplots(len(methods), len(goals), figsize=(3 * len(goals),
                                                                3 * len(methods)),
                             squeeze=False)
    for row, method in enumerate(methods):
        paths = np.asarray(traj[method])  # [goal, step, T, 2]
        for col, goal in enumerate(goals):
            ax = axes[row, col]
            for j in range(paths.shape[1]):
                step = "pre-update" if j == 0 else f"{j} grad step{'s' if j > 1 else ''}"
                ax.plot(paths[col, j, :, 0], paths[col, j, :, 1], lw=1, label=step)
            ax.plot(*goal, "r*", ms=12, label="goal")
            ax.plot(0, 0, "ko", ms=4)
            ax.set_xlim(-0.6, 0.6)
            ax.set_ylim(-0.6, 0.6)
            ax.set_aspect("equal")
            ax.set_title(f"{label(method)}, goal {col}", fontsize=9)
            if row == len(methods) - 1:
                ax.set_xlabel("x position")
            if col == 0:
                ax.set_ylabel("y position")
    axes[0, 0].legend(fontsize=7)
    return save_figure(fig, folder, "trajectories.png")


def _training(curves: dict[str, Any], folder: Path) -> str:
    """Training returns (pre- and, for MAML, post-adaptation) and the policy σ per phase."""
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
    for phase, c in curves.items():
        phase_color = color(phase) or "k"
        ax1.plot(c["step"], c["pre_return"], ls="--", color=phase_color,
                 label=f"{label(phase)} pre-adaptation")
        if phase == "maml":
            ax1.plot(c["step"], c["post_return"], color=phase_color,
                     label="MAML post-adaptation")
        ax2.plot(c["step"], c["std"], color=phase_color, label=f"{label(phase)} σ")
    ax1.set_xlabel("iteration")
    ax1.set_ylabel("training return")
    ax1.legend(fontsize=7)
    ax2.set_xlabel("iteration")
    ax2.set_ylabel("policy σ")
    ax2.set_yscale("log")
    ax2.legend(fontsize=7)
    return save_figure(fig, folder, "training.png")
