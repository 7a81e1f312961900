"""What every experiment's report shares: labels, colours, number formats, tables, intervals,
same-instance verdicts, provenance and figure files.

Experiment packages (``adaptax.experiments.<name>.report`` and ``.figures``) build their pages
from these pieces, so one method reads the same and has one colour in every table and figure.

Example:
  >>> fmt(0.5, 0.01)
  '0.500 ± 0.010'
  >>> print(table(["method", "MSE"], [[label("maml"), fmt(0.5)]]))
  | method | MSE |
  |---|---|
  | MAML | 0.500 |
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

# Learned methods and the baselines trained beside them.
METHOD_LABELS = {
    "maml": "MAML",
    "fomaml": "first-order MAML",
    "pretrained": "pretrained",
    "oracle": "oracle",
    "random": "random init",
    "rl2": "RL²",
}

# Classical agents of the RL² tables (both spellings the code uses: baselines' and RL²'s).
AGENT_LABELS = {
    "random": "Random",
    "gittins": "Gittins",
    "thompson": "TS",
    "ts": "TS",
    "optimistic_thompson": "OTS",
    "ots": "OTS",
    "ucb1": "UCB1",
    "epsilon_greedy": "ε-greedy",
    "eps_greedy": "ε-greedy",
    "greedy": "Greedy",
    "bayes_optimal": "Bayes-optimal (DP)",
    "psrl": "PSRL",
    "opsrl": "OPSRL",
    "ucrl2": "UCRL2",
    "beb": "BEB",
    "rl2": "RL²",
}

COLORS = {
    "maml": "tab:blue",
    "fomaml": "tab:purple",
    "pretrained": "tab:orange",
    "oracle": "tab:green",
    "random": "tab:gray",
    "rl2": "tab:red",
    "ours": "tab:blue",
    "paper": "tab:red",
}


def label(name: str, agent: bool = False) -> str:
    """The display name of a method (or, with ``agent``, of a classical agent)."""
    return (AGENT_LABELS if agent else METHOD_LABELS).get(name, name)


def color(name: str) -> str | None:
    """The colour of a method in every figure (None: matplotlib's next)."""
    return COLORS.get(name)


def fmt(mean: float, half_width: float | None = None, digits: int = 3) -> str:
    """``mean ± half_width`` to ``digits`` decimals."""
    if half_width is None:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {half_width:.{digits}f}"


def fmt_list(values: Iterable[float], digits: int = 3) -> str:
    """A list of numbers to ``digits`` significant digits, e.g. ``[0.1, 0.05]``."""
    return "[" + ", ".join(f"{v:.{digits}g}" for v in values) + "]"


def fmt_setting(setting: Mapping[str, Any]) -> str:
    """A table row's setting, e.g. ``n = 10, k = 5``."""
    return ", ".join(f"{k} = {v}" for k, v in setting.items())


def fmt_hparams(hparams: Mapping[str, Any]) -> str:
    """Hyper-parameters as ``name = value`` (floats in ``g`` format)."""
    return ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}"
                     for k, v in hparams.items())


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def seeds_text(results: Mapping[str, Any], unit: str = "tasks") -> str:
    """What a result's ± means: over the test ``unit``, or across a multi-seed run's seeds."""
    if "seeds" in results:
        seeds = results["seeds"]
        return (f"mean ± 95% t-interval across {len(seeds)} seeds ({', '.join(map(str, seeds))}),"
                f" each seed's mean over the test {unit}")
    return f"mean ± 95% interval over the test {unit}"


def p_value(comparison: Mapping[str, Any]) -> float:
    """The p-value behind a :func:`adaptax.experiments.protocol.compare` verdict."""
    if comparison["verdict"] == "below":
        return comparison["p_below"]
    if comparison["verdict"] == "above":
        return comparison["p_above"]
    return min(comparison["p_above"], comparison["p_below"])


def verdict(comparison: Mapping[str, Any], digits: int = 2) -> str:
    """A comparison as ``+1.23 (above, p = 0.001)``: ours minus the other, the verdict, p."""
    return (f"{comparison['diff']:+.{digits}f} ({comparison['verdict']}, "
            f"p = {p_value(comparison):.2g})")


def claims(subject: str, comparisons: Mapping[str, Mapping[str, Any]],
           labels: Mapping[str, str] | None = None) -> str:
    """One sentence: which methods ``subject`` is above, not separated from, and below.

    Example:
      >>> claims("RL²", {"greedy": {"verdict": "above"}, "ucb1": {"verdict": "below"}},
      ...        AGENT_LABELS)[:50]
      'On these instances RL² is above Greedy; below UCB1'
    """
    if not comparisons:
        return ""
    labels = labels or {}
    parts = []
    for kind, words in (("above", "above"), ("level", "not separated from"), ("below", "below")):
        names = [labels.get(a, a) for a, c in comparisons.items() if c["verdict"] == kind]
        if names:
            parts.append(f"{words} {', '.join(names)}")
    return (f"On these instances {subject} is " + "; ".join(parts)
            + " (one-sided Welch t-tests, p < 0.05).")


def not_comparable(reason: str) -> str:
    """The warning a report prints when its run is too small to set beside the paper."""
    return f"\n**Not comparable with the paper's numbers:** {reason}.\n"


def provenance_text(results: Mapping[str, Any]) -> str:
    """One line for reports: the software and hardware a ``results.json`` was produced with."""
    p = results.get("provenance")
    if not p:
        return "Not recorded."
    commit = (p.get("commit") or "no git checkout")[:12] + (
        "+dirty" if str(p.get("commit", "")).endswith("+dirty") else "")
    return (f"adaptax {p.get('adaptax')} (commit {commit}), jax {p.get('jax')}, jaxlib "
            f"{p.get('jaxlib')}, Python {p.get('python')}; {p.get('device_count')} × "
            f"{p.get('device_kind')} ({p.get('backend')}), {p.get('cpu_count')} CPU cores, "
            f"{p.get('process_count')} process(es); {p.get('platform')}.")


def figures_markdown(names: Iterable[str]) -> str:
    """Markdown that shows a run folder's figures (``figures/<name>``) in its report."""
    return "\n".join(f"![{name}](figures/{name})" for name in names)


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (files only, no display), imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, folder: Path, name: str, dpi: int = 110) -> str:
    """Writes ``fig`` to ``folder/name``, closes it and returns ``name``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(folder / name, dpi=dpi)
    pyplot().close(fig)
    return name
