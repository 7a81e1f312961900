"""The figures of a ``maml-sinusoid`` run, drawn from ``results.json`` alone: Figure 2 (fits after
0, 1 and 10 steps) and Figure 3 (query MSE against the number of gradient steps)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adaptax.reporting import color, label, pyplot, save_figure


def sinusoid_figures(results: dict[str, Any], folder: Path) -> list[str]:
    """Figure 2 (fits after 0, 1, 10 steps) and Figure 3 (MSE vs steps); returns file names."""
    names = []
    if results.get("fits", {}):
        names.append(_fits_figure(results["fits"], folder))
    names.append(_mse_figure(results, folder))
    return names


def _fits_figure(fits: dict[str, Any], folder: Path) -> str:
    """One panel per support size K and method: the true curve, the support points and the
    method's prediction after 0, 1 and 10 gradient steps."""
    plt = pyplot()
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
            ax.set_title(f"{label(method)}, K = {k}")
            ax.set_ylim(-6, 6)
            ax.set_xlabel("x")
            ax.set_ylabel("y")
            if row == 0 and col == 0:
                ax.legend(fontsize=7, loc="lower right")
    return save_figure(fig, folder, "fits.png")


def _mse_figure(results: dict[str, Any], folder: Path) -> str:
    """One panel per test K: each method's query MSE ± interval against the number of steps,
    with the published (and the internal reference) numbers as open markers."""
    from matplotlib import ticker

    plt = pyplot()
    per_k = sorted(next(iter(results["methods"].values())).keys(), key=int)
    fig, axes = plt.subplots(1, len(per_k), figsize=(4.2 * len(per_k), 3.4), squeeze=False)
    steps = results["steps"]
    for ax, k in zip(axes[0], per_k, strict=True):
        for method, entry in results["methods"].items():
            if k not in entry:
                continue
            mean, ci = entry[k]["mean"], entry[k]["ci95"]
            ls = "--" if method == "oracle" else "-"
            ax.plot(steps, mean, ls, color=color(method), label=label(method))
            ax.fill_between(steps, [m - c for m, c in zip(mean, ci, strict=True)],
                            [m + c for m, c in zip(mean, ci, strict=True)],
                            color=color(method), alpha=0.2)
        for ref, marker, source in ((results.get("paper"), "D", "paper (published)"),
                                    (results.get("reference_k10"), "o",
                                     "internal reference (not published)")):
            if not ref or str(ref["K"]) != k:
                continue
            for method in ("maml", "pretrained"):
                if method in results["methods"]:
                    ax.scatter(ref["steps"], ref[method], marker=marker, s=30, zorder=3,
                               facecolors="none", edgecolors=color(method),
                               label=f"{label(method)}, {source}")
        ax.set_title(f"K = {k}")
        ax.set_xlabel("number of gradient steps")
        ax.set_ylabel("mean squared error")
        ax.set_yscale("log")
        ax.set_ylim(top=min(ax.get_ylim()[1], 20.0))  # a diverged task must not hide the rest
        ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        ax.legend(fontsize=6)
    return save_figure(fig, folder, "mse_vs_steps.png")
