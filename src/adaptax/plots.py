"""Figures of the reproductions, drawn from ``results.json`` alone (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import ticker  # noqa: E402

COLORS = {"maml": "tab:red", "fomaml": "tab:orange", "pretrained": "tab:blue",
          "oracle": "tab:green"}
LABELS = {"maml": "MAML", "fomaml": "first-order MAML", "pretrained": "pretrained",
          "oracle": "oracle"}


def sinusoid_figures(results: dict[str, Any], folder: Path) -> list[str]:
    """Figure 2 (fits after 0, 1, 10 steps) and Figure 3 (MSE vs steps); returns file names."""
    names = []
    fits = results.get("fits", {})
    if fits:
        methods = [m for m in ("maml", "pretrained") if m in next(iter(fits.values()))]
        fig, axes = plt.subplots(len(fits), len(methods), figsize=(5 * len(methods),
                                 3.2 * len(fits)), squeeze=False)
        for row, (k, f) in enumerate(sorted(fits.items(), key=lambda kv: int(kv[0]))):
            for col, method in enumerate(methods):
                ax = axes[row][col]
                ax.plot(f["x"], f["true"], color="tab:red", lw=2, label="ground truth")
                for n, style in (("0", ":"), ("1", "--"), ("10", "-")):
                    ax.plot(f["x"], f[method][n], color="tab:green", ls=style,
                            label=f"after {n} step{'s' if n != '1' else ''}")
                ax.scatter(f["support_x"], f["support_y"], marker="^", color="k", zorder=3,
                           label=f"{k} support points")
                ax.set_title(f"{LABELS[method]}, K = {k}")
                ax.set_ylim(-6, 6)
                ax.set_xlabel("x")
                ax.set_ylabel("y")
                if row == 0 and col == 0:
                    ax.legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        fig.savefig(folder / "fits.png", dpi=110)
        plt.close(fig)
        names.append("fits.png")
    per_k = sorted(next(iter(results["methods"].values())).keys(), key=int)
    fig, axes = plt.subplots(1, len(per_k), figsize=(4.2 * len(per_k), 3.4), squeeze=False)
    steps = results["steps"]
    for ax, k in zip(axes[0], per_k, strict=True):
        for method, entry in results["methods"].items():
            if k not in entry:
                continue
            mean, ci = entry[k]["mean"], entry[k]["ci95"]
            ls = "--" if method == "oracle" else "-"
            ax.plot(steps, mean, ls, color=COLORS.get(method), label=LABELS.get(method, method))
            ax.fill_between(steps, [m - c for m, c in zip(mean, ci, strict=True)],
                            [m + c for m, c in zip(mean, ci, strict=True)],
                            color=COLORS.get(method), alpha=0.2)
        for ref, marker, label in ((results.get("paper"), "D", "paper (published)"),
                                   (results.get("reference_k10"), "o",
                                    "internal reference (not published)")):
            if not ref or str(ref["K"]) != k:
                continue
            for method in ("maml", "pretrained"):
                if method in results["methods"]:
                    ax.scatter(ref["steps"], ref[method], marker=marker, s=30, zorder=3,
                               facecolors="none", edgecolors=COLORS[method],
                               label=f"{LABELS[method]}, {label}")
        ax.set_title(f"K = {k}")
        ax.set_xlabel("number of gradient steps")
        ax.set_ylabel("mean squared error")
        ax.set_yscale("log")
        ax.set_ylim(top=min(ax.get_ylim()[1], 20.0))  # a diverged task must not hide the rest
        ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(folder / "mse_vs_steps.png", dpi=110)
    plt.close(fig)
    names.append("mse_vs_steps.png")
    return names


def _setting_words(setting: dict[str, Any]) -> str:
    """A table row's setting in words, e.g. "n = 100 pulls, k = 10 arms"."""
    if "k" in setting:
        return f"n = {setting['n']} pulls, k = {setting['k']} arms"
    return f"n = {setting['n']} episodes"


def baseline_bars(results: dict[str, Any], folder: Path) -> str:
    """One panel per table row: each agent's mean ± s.e. as a bar, the paper's value as a dot."""
    rows = results["rows"]
    cols = min(3, len(rows))
    nrows = (len(rows) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(4.6 * cols, 3.2 * nrows), squeeze=False)
    for ax, row in zip(axes.flat, rows, strict=False):
        names = list(row["cells"])
        means = [row["cells"][c]["mean"] for c in names]
        ses = [row["cells"][c]["se"] for c in names]
        xs = range(len(names))
        ax.bar(xs, means, yerr=ses, color="tab:blue", alpha=0.7, label="ours")
        paper = [(i, row["cells"][c]["paper"]) for i, c in enumerate(names)
                 if row["cells"][c].get("paper") is not None]
        if paper:
            ax.scatter(*zip(*paper, strict=True), color="tab:red", marker="D", s=25, zorder=3,
                       label="paper")
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
    fig.tight_layout()
    name = "baselines.png"
    fig.savefig(folder / name, dpi=110)
    plt.close(fig)
    return name
