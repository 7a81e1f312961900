"""``report.md`` of an RL² run, from ``results.json`` alone: RL² beside the classical agents on
the same test instances and the paper's column, the verdicts, training and the normalised score.
"""

from __future__ import annotations

from typing import Any

from adaptax.experiments.experiment import Experiment
from adaptax.experiments.protocol import describe_split
from adaptax.experiments.rl2.figures import learning_curve
from adaptax.reporting import (
    AGENT_LABELS,
    claims,
    figures_markdown,
    fmt,
    fmt_hparams,
    fmt_setting,
    label,
    not_comparable,
    provenance_text,
    table,
)
from adaptax.storage.runs import RunDir


def report(run_dir: RunDir, experiment: Experiment) -> str:
    """Writes ``report.md`` and the learning-curve figure from ``results.json``."""

    results = run_dir.read_results()
    run_config = run_dir.read_config()
    figures = learning_curve(results, run_dir.figures_dir)
    r, p, t, c = results["rl2"], results["paper"], results["train"], results["config"]
    splits = results.get("splits", {})
    test, val = splits.get("test"), splits.get("validation")
    where = describe_split("test", test["num"]) if test else f"{r['eval_tasks']} instances"
    command = experiment.command_of(
        run_config, always=tuple(results["setting"]))
    validation = results.get("validation")
    val_text = (f"RL² on the {describe_split('validation', val['num'])} (where settings are "
                f"chosen): {fmt(validation['mean'], validation['ci95'], 2)}."
                if validation and val else "")
    text = f"""# RL² — {results['experiment']}, {fmt_setting(results['setting'])}

Command: `{command}` (backend: {run_config.get('backend', '?')})

GRU {c['hidden_size']} (embedding {c['embed_size']}), separate GRU value baseline,
{t['algorithm'].upper()}, GAE γ = {c['gamma']}, λ = {c['lam']} over the whole trial.
Evaluation: one trial on each of {r['eval_tasks']} instances ({where}), {r['actions']}
actions; total reward per trial, mean ± 95% interval. The classical agents play the same
instances (the paper's agents; each hyper-parameter chosen on the validation instances).

## Results
{_comparable(t)}
{comparison_table(results, run_config.get('preset', ''))}

{claims("RL²", results.get("comparisons", {}), AGENT_LABELS)}
{val_text}
{_seeds_text(results)}

Paper: {p['source']}; its columns come from its own draw of instances.

## Training

- {t['iterations']} iterations × {t['trials_per_iteration']} trials × {t['steps_per_trial']} steps
  = {t['env_steps']:,} environment steps{_stopped_text(t, c)}{_devices_text(t)}
- {t['env_steps_per_second']:,.0f} trained steps/s (median over chunks, compile excluded);
  {t.get('train_seconds', t.get('seconds_this_process', 0)):.0f} s of training, evaluation \
{t['eval_seconds']} s

{_normalised_text(results)}

## Figures

{figures_markdown(figures)}

## Provenance

{provenance_text(results)}
"""
    run_dir.write_report(text)
    return text


def comparison_table(results: dict[str, Any], preset: str = "") -> str:
    """RL² and the classical agents on the same test instances, beside the paper's column."""
    r, p = results["rl2"], results["paper"]
    name = f"RL² (`{preset}`)" if preset else "RL²"
    if "seeds" in results:
        name += f", {len(results['seeds'])} seeds"
    rows = [[name, fmt(r["mean"], r["ci95"], 2), p["rl2"], "", ""]]
    comps = results.get("comparisons", {})
    for agent, cell in results.get("classical", {}).items():
        comp = comps[agent]
        hp = fmt_hparams(cell["hparam"])
        # the p of the test behind the verdict: "RL² is below" for below, else "RL² is above"
        p_value = comp["p_above"] if comp["verdict"] != "below" else comp["p_below"]
        rows.append([label(agent, agent=True) + (f" ({hp})" if hp else ""),
                     fmt(cell["mean"], cell["ci95"], 2), cell["paper"], f"{comp['diff']:+.2f}",
                     f"{comp['verdict']} (p = {p_value:.2g})"])
    return table(["method", "ours, same test instances", "paper", "RL² − method",
                  "RL² is (one-sided Welch)"], rows)


def _normalised_text(results: dict[str, Any]) -> str:
    norm = results.get("normalised")
    if not norm:
        return "The learning curve shows the raw mean total reward per training trial."
    ref = label(norm["reference"], agent=True)
    return (f"Normalised score (paper's Figure 2: {ref} = 1, random = 0, both run by adaptax's "
            f"baselines in paper mode on the same instances; {ref}: "
            f"{fmt_hparams(norm['hparams'])}): RL² {norm['rl2']:.3f} at evaluation ({ref} "
            f"{norm['reference_score']:.2f}, random {norm['random_score']:.2f}). The learning "
            "curves show each training batch's mean total reward per trial (sampled actions), "
            "raw and normalised.")


def _seeds_text(results: dict[str, Any]) -> str:
    """A multi-seed run: what its interval and its comparisons mean, and every seed's score."""
    if "seeds" not in results:
        return ""
    r = results["rl2"]
    each = ", ".join(f"seed {seed}: {mean:.2f}"
                     for seed, mean in zip(results["seeds"], r["seed_means"], strict=True))
    return (f"RL²'s ± is a 95% t-interval across the {len(results['seeds'])} seeds' means "
            f"({each}); the Welch tests compare each instance's total averaged over the seeds.")


def _comparable(train: dict[str, Any]) -> str:
    """A warning for a smoke-size run, whose numbers are not comparable with the paper's."""
    if train["env_steps"] >= 1_000_000:
        return ""
    return not_comparable(f"{train['env_steps']:,} environment steps of training (a smoke-size "
                          "run)")


def _devices_text(train: dict[str, Any]) -> str:
    """The report's line on data-parallel training, when there was more than one device."""
    devices = train.get("devices", 1)
    return f"\n- data-parallel over {devices} devices" if devices > 1 else ""


def _stopped_text(train: dict[str, Any], config: dict[str, Any]) -> str:
    """The report's note when `time_limit` ended training before the budget."""
    budget = train.get("budget_iterations", train["iterations"])
    if train["iterations"] >= budget:
        return ""
    return (f"\n- **stopped by time_limit = {config['time_limit']:g} s after {train['iterations']} "
            f"of the budget's {budget} iterations**")
