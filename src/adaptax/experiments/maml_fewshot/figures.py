"""Figures of ``maml-omniglot``: accuracy against inner steps, and the training curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adaptax.reporting import color, label, pyplot, save_figure


def omniglot_figures(results: dict[str, Any], folder: Path) -> list[str]:
    """Writes ``accuracy_vs_steps.png`` and ``training.png``; returns their names."""
    return [_accuracy(results, folder), _training(results, folder)]


def _accuracy(results: dict[str, Any], folder: Path) -> str:
    plt = pyplot()
    sets = [s for s in ("validation", "test", "lake")
            if any(s in m for m in results["methods"].values())]
    fig, axes = plt.subplots(1, len(sets), figsize=(4.2 * len(sets), 3.3), squeeze=False)
    steps = results["steps"]
    for ax, name in zip(axes[0], sets, strict=True):
        for method, entry in results["methods"].items():
            if name not in entry:
                continue
            mean, ci = entry[name]["mean"], entry[name]["ci95"]
            ax.errorbar(steps, mean, yerr=ci, marker="o", ms=3, capsize=2, color=color(method),
                        label=label(method))
        if name == "lake":
            for i, (ref, value) in enumerate(results["lake_references"]["references"].items()):
                ax.axhline(value, ls=":", lw=1, color=f"C{i + 3}", label=ref)
            ax.set_ylabel("error % on Lake's 20 runs")
            ax.set_title("20-way one-shot benchmark")
        else:
            ax.set_ylabel("query accuracy %")
            ax.set_title(f"{name} tasks")
        ax.set_xlabel("inner steps at test")
        ax.set_xticks(steps)
        ax.legend(fontsize=6)
    return save_figure(fig, folder, "accuracy_vs_steps.png")


def _training(results: dict[str, Any], folder: Path) -> str:
    plt = pyplot()
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(8.4, 3.2))
    for method, curve in results["training_curves"].items():
        loss_ax.plot(curve["step"], curve["loss"], color=color(method), label=label(method))
        acc_ax.plot(curve["step"], [100 * a for a in curve["accuracy"]], color=color(method),
                    label=label(method))
    loss_ax.set_ylabel("query loss after adaptation")
    acc_ax.set_ylabel("query accuracy % after adaptation")
    for ax in (loss_ax, acc_ax):
        ax.set_xlabel("meta-iteration")
        ax.legend(fontsize=7)
    return save_figure(fig, folder, "training.png")
