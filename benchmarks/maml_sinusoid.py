"""Benchmark: MAML meta-iterations per second on the sinusoid setting, and the share of the
machine's float32 matmul peak they reach (the peak is measured in the same run).

Run: `make bench` (or `python benchmarks/maml_sinusoid.py --iters 2000 --repeats 5`).
Prints compile time apart from run time, the median over repeats, and FLOP/s from XLA's own
cost analysis of one compiled meta-iteration.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from _peak import matmul_peak, peak_size  # benchmarks/_peak.py (scripts run from benchmarks/)

from adaptax.meta import maml
from adaptax.nets.mlp import MLP
from adaptax.tasks import sinusoid


def bench(first_order: bool, iters: int, repeats: int) -> dict:
    net = MLP()
    loss = lambda p, b: jnp.mean((net.apply(p, b.x) - b.y) ** 2)  # noqa: E731
    trainer = maml.make_meta_trainer(
        maml.maml_objective(loss, lr=0.01, first_order=first_order),
        lambda k: sinusoid.sample_tasks(k, 25, 10, 10), optax.adam(1e-3))
    state = trainer.init(jax.random.PRNGKey(1), net.init(jax.random.PRNGKey(0), jnp.zeros((1, 1))))
    t = time.perf_counter()
    compiled = jax.jit(trainer.run, static_argnums=1).lower(state, iters).compile()
    compile_s = time.perf_counter() - t
    step_cost = trainer.run.lower(state, 1).compile().cost_analysis()
    if isinstance(step_cost, list):
        step_cost = step_cost[0]
    flops = float(step_cost.get("flops", float("nan")))
    state, _ = compiled(state)  # warm-up
    jax.block_until_ready(state)
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        state, _ = compiled(state)
        jax.block_until_ready(state)
        rates.append(iters / (time.perf_counter() - t))
    return {"compile_s": compile_s, "it_s": float(np.median(rates)), "flops_per_it": flops,
            "rates": rates}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--iters", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    peak = matmul_peak()
    print(f"device: {jax.devices()[0]}  jax {jax.__version__}")
    print(f"float32 matmul peak ({peak_size()}², median): {peak / 1e9:.1f} GFLOP/s")
    for first_order in (False, True):
        r = bench(first_order, args.iters, args.repeats)
        name = "first-order " if first_order else "second-order"
        frac = r["it_s"] * r["flops_per_it"] / peak
        print(f"MAML {name}: {r['it_s']:8.0f} meta-it/s (median of {args.repeats}, range "
              f"{min(r['rates']):.0f}-{max(r['rates']):.0f}), compile {r['compile_s']:.2f} s, "
              f"{r['flops_per_it'] / 1e6:.2f} MFLOP/it, {100 * frac:.1f}% of matmul peak")
    peak_after = matmul_peak()
    print(f"float32 matmul peak again: {peak_after / 1e9:.1f} GFLOP/s (load check)")


if __name__ == "__main__":
    main()
