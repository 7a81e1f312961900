"""MAML-RL speed on 2D navigation: meta-iterations/s, environment steps/s, paper-preset wall time.

    .venv/bin/python benchmarks/maml_rl.py [--hvp gauss_newton|finite_difference|exact] [--iters N]
        [--meta-batch 20] [--trajs 20] [--cg-iters 10] [--fvp-subsample 0.25 [1.0 ...]]
        [--inner-steps 3 --meta-objective all --measured-step]   (the `paper` preset's MAML)

Compile time is measured apart from run time (the first call compiles). One meta-iteration samples
meta_batch × trajs × horizon steps before adaptation and as many after it, so environment steps
per iteration = 2 · meta_batch · trajs · horizon (80,000 at the paper's settings). The paper
preset trains MAML for 500 meta-iterations (plus the pretrained and oracle baselines, 500 TRPO
iterations each without the inner step, timed here with --inner-steps 0). Several
--fvp-subsample values are timed side by side in one process, interleaved (the machine is shared
and noisy), and the median per variant is reported; 0.25 is the experiment's default, 1.0 the
paper code's (Fisher-vector products on all trajectories).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import jax
import jax.numpy as jnp

from adaptax.envs.navigation2d import Navigation2D
from adaptax.nets.gaussian_mlp import GaussianMLP
from adaptax.rl import maml_rl as mr


def _setup(hvp: str, meta_batch: int, trajs: int, cg_iters: int, inner_steps: int,
           horizon: int, fvp_subsample: float, meta_objective: str, measured_step: bool):
    net = GaussianMLP(hidden=(100, 100), action_dim=2)
    algo = mr.MAMLRL(Navigation2D(horizon=horizon), net.apply, meta_batch=meta_batch,
                     num_trajs=trajs, horizon=horizon, hvp=hvp, cg_iters=cg_iters,
                     inner_steps=inner_steps, fvp_subsample=fvp_subsample,
                     meta_objective=meta_objective, measured_step=measured_step)
    params = net.init(jax.random.PRNGKey(0), jnp.zeros(2))
    return mr.make_runner(algo), mr.MetaState(params, jax.random.PRNGKey(1),
                                              jnp.zeros((), jnp.int32))


def measure(hvp: str, iters: int, meta_batch: int, trajs: int, cg_iters: int,
            inner_steps: int = 1, horizon: int = 100,
            fvp_subsamples: tuple[float, ...] = (0.25,), meta_objective: str = "last",
            measured_step: bool = False) -> list[dict]:
    """Compiles each variant, then times `iters` rounds of one iteration per variant."""
    runs, compile_s, times = {}, {}, {f: [] for f in fvp_subsamples}
    for f in fvp_subsamples:
        run, state = _setup(hvp, meta_batch, trajs, cg_iters, inner_steps, horizon, f,
                            meta_objective, measured_step)
        t0 = time.perf_counter()
        state, m = run(state, 1)
        jax.block_until_ready(m)
        compile_s[f] = time.perf_counter() - t0
        state, m = run(state, 1)  # the returned state's types can differ once: warm up again
        jax.block_until_ready(m)
        runs[f] = (run, state)
    for _ in range(iters):  # interleaved, so load changes hit every variant alike
        for f in fvp_subsamples:
            run, state = runs[f]
            t0 = time.perf_counter()
            state, m = run(state, 1)
            jax.block_until_ready(m)
            times[f].append(time.perf_counter() - t0)
            runs[f] = (run, state)
    steps = (inner_steps + 1) * meta_batch * trajs * horizon
    out = []
    for f in fvp_subsamples:
        per_iter = statistics.median(times[f])
        out.append({
            "hvp": hvp, "fvp_subsample": f, "meta_batch": meta_batch, "trajs": trajs,
            "cg_iters": cg_iters, "inner_steps": inner_steps, "meta_objective": meta_objective,
            "measured_step": measured_step,
            "compile_s": round(compile_s[f] - per_iter, 1),
            "seconds_per_meta_iteration_median": round(per_iter, 3),
            "seconds_all": [round(t, 3) for t in times[f]],
            "meta_iterations_per_s": round(1 / per_iter, 3),
            "env_steps_per_s": round(steps / per_iter),
            "projected_500_iterations_min": round(500 * per_iter / 60, 1),
            "devices": str(jax.devices()), "cpu_count": os.cpu_count(),
        })
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hvp", default="gauss_newton",
                   choices=["gauss_newton", "finite_difference", "exact"])
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--meta-batch", type=int, default=20)
    p.add_argument("--trajs", type=int, default=20)
    p.add_argument("--cg-iters", type=int, default=10)
    p.add_argument("--inner-steps", type=int, default=1)
    p.add_argument("--fvp-subsample", type=float, nargs="+", default=[0.25])
    p.add_argument("--meta-objective", default="last", choices=["last", "all"])
    p.add_argument("--measured-step", action="store_true")
    a = p.parse_args()
    for row in measure(a.hvp, a.iters, a.meta_batch, a.trajs, a.cg_iters, a.inner_steps,
                       fvp_subsamples=tuple(a.fvp_subsample), meta_objective=a.meta_objective,
                       measured_step=a.measured_step):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
