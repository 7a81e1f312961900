"""The driver's training loop: chunks of compiled iterations, checkpoints, metrics, NaN guard.

Every experiment trains through :func:`train_phase`: the learner's ``run(state, n)`` scans ``n``
iterations in one dispatch; after each chunk the host checks the monitored loss for NaN/Inf, writes
an atomic checkpoint, appends a line to ``metrics.jsonl`` and updates the progress bar. Resuming
loads the phase's checkpoint and continues with the same chunk boundaries, so a resumed run ends
with the same numbers as an uninterrupted one.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np
from tqdm.auto import tqdm

from adaptax.errors import TrainingDiverged
from adaptax.storage import checkpoint
from adaptax.storage.runs import RunDir

# Fault injection for the resume tests: "PHASE:STEP" kills this process with SIGKILL right after
# the checkpoint at STEP of PHASE is written, exactly as `kill -9` would.
KILL_ENV = "ADAPTAX_TEST_KILL_AT"


def _quiet() -> bool:
    """No progress bar under CI (CI=true) or when ADAPTAX_NO_PROGRESS=1."""
    return os.environ.get("ADAPTAX_NO_PROGRESS") == "1" or os.environ.get("CI") == "true"


def progress(message: str) -> None:
    """One line on stderr for work without a progress bar (evaluation), unless quiet."""
    if not _quiet():
        print(message, file=sys.stderr, flush=True)


class PhaseResult(NamedTuple):
    """What a training phase returns besides the final state."""

    state: Any
    iterations: int
    seconds: float  # wall time of all the phase's chunks, earlier (resumed) processes included
    iters_per_second: float  # median over chunks after the first (compile excluded)
    final_loss: float

    def record(self) -> dict[str, Any]:
        """The phase as ``results.json`` records it under ``train.<phase>``."""
        return {"iterations": self.iterations, "final_loss": self.final_loss,
                "train_seconds": round(self.seconds, 3),
                "iterations_per_second": float(f"{self.iters_per_second:.4g}")}


def _fields(metrics: Any) -> list[tuple[str, Any]]:
    """A metrics NamedTuple's arrays by name: a None field is left out, a dict or NamedTuple
    field (e.g. MAML's aux) gives ``field_key`` entries.

    Example:
      >>> from adaptax.meta.maml import MetaMetrics
      >>> [k for k, _ in _fields(MetaMetrics(1.0, 2.0, {"accuracy": 0.5}))]
      ['loss', 'grad_norm', 'aux_accuracy']
    """
    out = []
    for name, value in metrics._asdict().items():
        for path, leaf in jax.tree_util.tree_flatten_with_path(value)[0]:
            keys = [str(getattr(k, "key", getattr(k, "name", getattr(k, "idx", k))))
                    for k in path]
            out.append(("_".join([name, *keys]), leaf))
    return out


def train_phase(
    run: RunDir,
    *,
    experiment: str,
    phase: str,
    run_fn: Callable[[Any, int], tuple[Any, Any]],
    state: Any,
    iterations: int,
    chunk: int,
    resume: bool,
    monitor: str = "loss",
    hint: str = "lower the learning rate with --set",
    time_limit: float = 0.0,
    config_hash: str | None = None,
) -> PhaseResult:
    """Trains ``state`` for ``iterations`` iterations in chunks, checkpointing after each.

    Args:
      run: the run folder (checkpoints go to ``run.checkpoint_dir``).
      experiment: the experiment's name (recorded in and checked against checkpoints).
      phase: the name of this training phase, e.g. ``"maml"``; one checkpoint per phase.
      run_fn: ``(state, n) -> (state, metrics)`` running ``n`` iterations; ``metrics`` is a
        NamedTuple of arrays with axis ``n`` last, after a seed axis for `seeds.batched` runs
        (records then hold the mean over seeds and ``{monitor}_seeds``, each seed's last value).
      state: the initial state (also the template a checkpoint is loaded into).
      iterations: total iterations of the phase.
      chunk: iterations per dispatch, checkpoint and log line.
      resume: continue from the phase's checkpoint if there is one.
      monitor: the metrics field checked for NaN/Inf.
      hint: what the divergence error suggests.
      time_limit: > 0: start no chunk once this many seconds of training are done (resumed
        processes' included); the result then has fewer than ``iterations``.
      config_hash: the training config's hash (`config.training_hash`), written into every
        checkpoint; a checkpoint with another hash is refused on resume.

    Raises:
      TrainingDiverged: the monitored metric became NaN or infinite; the checkpoint of the last
        good chunk is kept.
    """
    step = 0
    if resume and checkpoint.exists(run.checkpoint_dir, phase):
        state, step = checkpoint.load(run.checkpoint_dir, phase, state, experiment=experiment,
                                      config_hash=config_hash)
        run.truncate_metrics(phase, step)
        done = [r for r in run.read_metrics() if r.get("phase") == phase]
        last_loss = done[-1].get(f"{monitor}_last", float("nan")) if done else float("nan")
    else:
        last_loss, done = float("nan"), []
    kill_at = os.environ.get(KILL_ENV, "")
    # Time and speed count the chunks of earlier processes too (their records), so a resumed or
    # already finished phase reports its whole training time, not only this process's share.
    seconds = float(sum(r.get("seconds", 0.0) for r in done))
    rates = [(b["step"] - a["step"]) / b["seconds"]
             for a, b in zip([{"step": 0}, *done][:len(done)], done, strict=True)
             if b["step"] - a["step"] == chunk and b.get("seconds", 0) > 0]
    last = float(last_loss)
    # a bar on a terminal; a line per chunk when stderr is a file or a pipe (a log)
    lines = not _quiet() and not sys.stderr.isatty()
    bar = tqdm(total=iterations, initial=step, desc=phase, unit="it", dynamic_ncols=True,
               file=sys.stderr, disable=_quiet() or lines)
    try:
        while step < iterations and not 0 < time_limit <= seconds:
            n = min(chunk, iterations - step)
            t0 = time.perf_counter()
            new_state, metrics = run_fn(state, n)
            values = np.asarray(jax.device_get(getattr(metrics, monitor)))
            dt = time.perf_counter() - t0
            bad = ~np.isfinite(values)  # [n], or [seeds, n] (`seeds.batched`)
            if bad.any():
                per_seed = bad.reshape(-1, bad.shape[-1])
                first = step + int(np.argmax(per_seed.any(0))) + 1
                which = (f" (seed index {int(np.argmax(per_seed.any(1)))})"
                         if values.ndim > 1 else "")
                kept = (f"the last good checkpoint (iteration {step}) is kept in "
                        f"{run.checkpoint_dir}" if step else "no checkpoint was written")
                raise TrainingDiverged(
                    f"{phase}: {monitor} became {values[bad][0]} at iteration {first}{which}; "
                    f"{kept}; {hint}"
                )
            state, step = new_state, step + n
            seconds += dt
            if n == chunk:
                rates.append(n / dt)
            last = float(np.mean(values[..., -1]))
            checkpoint.save(run.checkpoint_dir, phase, state, step=step, experiment=experiment,
                            config_hash=config_hash)
            record = {"phase": phase, "step": step, "seconds": round(dt, 4)}
            for name, value in _fields(metrics):
                record[name] = float(np.mean(np.asarray(value)))
            record[f"{monitor}_last"] = last
            if values.ndim > 1:
                record[f"{monitor}_seeds"] = values[..., -1].tolist()
            run.append_metrics(record)
            bar.update(n)
            bar.set_postfix({monitor: f"{record[monitor]:.4g}"})
            if lines:
                print(f"{phase}: {step}/{iterations} iterations, {monitor} {record[monitor]:.4g}, "
                      f"{dt:.1f} s", file=sys.stderr, flush=True)
            if kill_at == f"{phase}:{step}":
                os.kill(os.getpid(), signal.SIGKILL)
    finally:
        bar.close()
    if step < iterations:
        print(f"{phase}: stopped by time_limit = {time_limit:g} s after {step} of {iterations} "
              "iterations; evaluating what was trained", file=sys.stderr, flush=True)
    rate = float(np.median(rates[1:] if len(rates) > 1 else rates)) if rates else float("nan")
    return PhaseResult(state, step, seconds, rate, last)
