"""Figures of the reproductions, drawn from ``results.json`` alone (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

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
        ax.set_title(f"K = {k}")
        ax.set_xlabel("number of gradient steps")
        ax.set_ylabel("mean squared error")
        ax.set_yscale("log")
        ax.set_ylim(top=min(ax.get_ylim()[1], 20.0))  # a diverged task must not hide the rest
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "mse_vs_steps.png", dpi=110)
    plt.close(fig)
    names.append("mse_vs_steps.png")
    return names
