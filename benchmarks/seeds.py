"""Benchmark: N seeds trained together (`adaptax.experiments.seeds.batched`) against the same N
seeds trained one after the other, for MAML on the sinusoid and RL² on tabular MDPs.

Both train the same iterations of the same seeds; the batched run is one compiled program over
a leading seed axis. Timed interleaved in one process (compile excluded), so a busy machine
slows both alike. Prints meta-iterations per second summed over seeds (medians) and the ratio.

Run: `python benchmarks/seeds.py` (options: --seeds, --iters, --repeats).
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from adaptax.envs import TabularMDP
from adaptax.experiments.seeds import batched, stack
from adaptax.meta import maml
from adaptax.nets.mlp import MLP
from adaptax.rl.rl2 import RL2Settings, make_rl2
from adaptax.tasks import sinusoid


def _sinusoid(seeds: int):
    net = MLP()
    loss = lambda p, b: jnp.mean((net.apply(p, b.x) - b.y) ** 2)  # noqa: E731
    trainer = maml.make_meta_trainer(maml.maml_objective(loss, lr=0.01),
                                     lambda k: sinusoid.sample_tasks(k, 25, 10, 10),
                                     optax.adam(1e-3))
    states = [trainer.init(jax.random.PRNGKey(100 + s), net.init(jax.random.PRNGKey(s),
                                                                  jnp.zeros((1, 1))))
              for s in range(seeds)]
    return trainer.run, states


def _rl2(seeds: int):
    learner = make_rl2(TabularMDP(10, 5, 10), 10, RL2Settings(
        hidden_size=64, embed_size=64, trials_per_batch=256, lr=3e-3, ent_coef=0.01,
        value_norm=True, time_feature=True))
    return learner.run, [learner.init(jax.random.PRNGKey(s)) for s in range(seeds)]


def bench(name: str, run, states, iters: int, repeats: int) -> None:
    together = batched(run)
    stacked = stack(states)

    def sequential(sts):
        return [run(s, iters)[0] for s in sts]

    def batch(st):
        return together(st, iters)[0]

    cases = {"one after the other": (sequential, states), "together": (batch, stacked)}
    current = {}
    for label, (fn, st) in cases.items():  # compile and warm up
        current[label] = jax.block_until_ready(fn(st))
    rates: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(repeats):
        for label, (fn, _) in cases.items():
            t = time.perf_counter()
            current[label] = jax.block_until_ready(fn(current[label]))
            rates[label].append(len(states) * iters / (time.perf_counter() - t))
    med = {label: float(np.median(r)) for label, r in rates.items()}
    print(f"{name}, {len(states)} seeds × {iters} iterations:")
    for label, r in rates.items():
        print(f"  {label:>20}: {med[label]:9.1f} iterations/s over all seeds (median of "
              f"{repeats}, range {min(r):.1f}-{max(r):.1f})")
    print(f"  ratio: {med['together'] / med['one after the other']:.2f}x")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--iters", type=int, default=200, help="sinusoid iterations per dispatch")
    p.add_argument("--rl2-iters", type=int, default=2, help="RL² iterations per dispatch")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    print(f"device: {jax.devices()[0]}  jax {jax.__version__}")
    bench("MAML sinusoid (meta-batch 25, K = 10)", *_sinusoid(args.seeds), args.iters,
          args.repeats)
    bench("RL² MDPs n = 10 (GRU 64, 256 trials, PPO 4 × 4)", *_rl2(args.seeds), args.rl2_iters,
          args.repeats)


if __name__ == "__main__":
    main()
