"""MAML-RL speed on 2D navigation: meta-iterations/s, environment steps/s, paper-preset wall time.

    .venv/bin/python benchmarks/maml_rl.py [--hvp gauss_newton|finite_difference|exact] [--iters N]
        [--meta-batch 20] [--trajs 20] [--cg-iters 10]

Compile time is measured apart from run time (the first call compiles). One meta-iteration samples
meta_batch × trajs × horizon steps before adaptation and as many after it, so environment steps
per iteration = 2 · meta_batch · trajs · horizon (80,000 at the paper's settings). The paper
preset trains MAML for 500 meta-iterations (plus the pretrained and oracle baselines, 500 TRPO
iterations each without the inner step, timed here with --inner-steps 0).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax
import jax.numpy as jnp

from adaptax.envs.navigation2d import Navigation2D
from adaptax.nets.gaussian_mlp import GaussianMLP
from adaptax.rl import maml_rl as mr


def measure(hvp: str, iters: int, meta_batch: int, trajs: int, cg_iters: int,
            inner_steps: int = 1, horizon: int = 100) -> dict:
    net = GaussianMLP(hidden=(100, 100), action_dim=2)
    algo = mr.MAMLRL(Navigation2D(horizon=horizon), net.apply, meta_batch=meta_batch,
                     num_trajs=trajs, horizon=horizon, hvp=hvp, cg_iters=cg_iters,
                     inner_steps=inner_steps)
    params = net.init(jax.random.PRNGKey(0), jnp.zeros(2))
    state = mr.MetaState(params, jax.random.PRNGKey(1), jnp.zeros((), jnp.int32))
    run = mr.make_runner(algo)
    t0 = time.perf_counter()
    state, m = run(state, 1)
    jax.block_until_ready(m)
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    state, m = run(state, 1)  # same shapes as the compiled call
    jax.block_until_ready(m)
    per_iter = time.perf_counter() - t0
    if iters > 1:
        t0 = time.perf_counter()
        for _ in range(iters):
            state, m = run(state, 1)
        jax.block_until_ready(m)
        per_iter = (time.perf_counter() - t0) / iters
    steps = (inner_steps + 1) * meta_batch * trajs * horizon
    return {
        "hvp": hvp, "meta_batch": meta_batch, "trajs": trajs, "cg_iters": cg_iters,
        "inner_steps": inner_steps, "compile_s": round(compile_s - per_iter, 2),
        "seconds_per_meta_iteration": round(per_iter, 3),
        "meta_iterations_per_s": round(1 / per_iter, 3),
        "env_steps_per_s": round(steps / per_iter),
        "projected_500_iterations_min": round(500 * per_iter / 60, 1),
        "devices": str(jax.devices()), "cpu_count": os.cpu_count(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hvp", default="gauss_newton",
                   choices=["gauss_newton", "finite_difference", "exact"])
    p.add_argument("--iters", type=int, default=3)
    p.add_argument("--meta-batch", type=int, default=20)
    p.add_argument("--trajs", type=int, default=20)
    p.add_argument("--cg-iters", type=int, default=10)
    p.add_argument("--inner-steps", type=int, default=1)
    a = p.parse_args()
    print(json.dumps(measure(a.hvp, a.iters, a.meta_batch, a.trajs, a.cg_iters,
                             a.inner_steps)))


if __name__ == "__main__":
    main()
