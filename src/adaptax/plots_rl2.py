"""Figures of the RL² experiments, drawn from ``results.json`` alone (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def learning_curve(results: dict[str, Any], folder: Path) -> list[str]:
    """Raw mean total reward per training trial vs environment steps, with the paper's RL² and
    random scores as horizontal lines; returns the file names written (``learning_curve.png``)."""
    curve = results["curve"]
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.plot(curve["env_steps"], curve["trial_return"], color="tab:red", label="RL² (training)")
    paper = results["paper"]
    ax.axhline(paper["rl2"], color="tab:red", ls="--", lw=1, label="RL² (paper)")
    ax.axhline(paper["random"], color="gray", ls=":", lw=1, label="random (paper)")
    if "greedy" in paper:
        ax.axhline(paper["greedy"], color="tab:blue", ls="-.", lw=1, label="greedy (paper)")
    setting = ", ".join(f"{k} = {v}" for k, v in results["setting"].items())
    ax.set_title(f"{results['experiment']}: {setting}")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("total reward per trial")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(folder / "learning_curve.png", dpi=110)
    plt.close(fig)
    return ["learning_curve.png"]
