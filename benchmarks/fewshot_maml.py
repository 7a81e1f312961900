"""Benchmark: MAML meta-iterations on Omniglot at the paper's settings, second and first order.

The cells of the paper's Table 1 for 1-shot: 5-way (meta-batch 32, one inner step, α = 0.4)
and 20-way (meta-batch 16, five inner steps, α = 0.1), Conv4 with 64 filters, one query
drawing per class, tasks drawn inside the compiled step from the shipped subset's pool. For
each cell and order it prints meta-iterations per second (median of the repeats, after
compilation, the orders timed interleaved), the achieved FLOP/s as a fraction of the machine's
float32 matmul peak measured in the same run (XLA's cost analysis counts the FLOPs), and what
the paper's 60,000 iterations would take.

Run: `python benchmarks/fewshot_maml.py` (options: --cells, --iters, --repeats).
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from _peak import matmul_peak

from adaptax.datasets import omniglot
from adaptax.meta import maml
from adaptax.nets.conv4 import Conv4
from adaptax.tasks import fewshot

CELLS = {"5w1s": (5, 32, 1, 0.4), "20w1s": (20, 16, 5, 0.1)}  # way, meta-batch, steps, α
PAPER_ITERATIONS = 60_000


def _trainer(pool, way: int, meta_batch: int, steps: int, lr: float, first_order: bool):
    net = Conv4(classes=way, filters=64)

    def loss(params, batch):
        logits = net.apply(params, batch.x)
        xent = optax.softmax_cross_entropy_with_integer_labels(logits, batch.y).mean()
        return xent, {"accuracy": jnp.mean(jnp.argmax(logits, -1) == batch.y)}

    objective = maml.maml_objective(loss, lr=lr, steps=steps, first_order=first_order,
                                    has_aux=True)
    trainer = maml.make_meta_trainer(
        objective, lambda k: fewshot.sample_tasks(k, pool, meta_batch, way, 1, 1, True),
        optax.adam(1e-3), lambda k: net.init(k, jnp.zeros((1, 28, 28, 1))), presample=False,
        has_aux=True)
    return trainer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--cells", default="5w1s,20w1s")
    p.add_argument("--iters", type=int, default=5, help="meta-iterations per timed call")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    chars = omniglot.concat(*(omniglot.load_characters(
        omniglot.SHIPPED / f"images_background_small{i}.zip") for i in (1, 2)))
    pool = jnp.asarray(chars.images)
    peak = matmul_peak()
    print(f"device: {jax.devices()[0]} ({jax.device_count()}), jax {jax.__version__}; float32 "
          f"matmul peak {peak / 1e9:.1f} GFLOP/s; Conv4 64 filters, 1 query drawing per class")
    for cell in args.cells.split(","):
        way, meta_batch, steps, lr = CELLS[cell]
        cases = {}
        for order, first_order in (("second order", False), ("first order", True)):
            trainer = _trainer(pool, way, meta_batch, steps, lr, first_order)
            state = trainer.init(jax.random.PRNGKey(0))
            run = trainer.run.lower(state, args.iters).compile()
            cost = trainer.run.lower(state, 1).compile().cost_analysis()
            cost = cost[0] if isinstance(cost, list) else cost
            state, metrics = run(state)  # warm-up
            jax.block_until_ready(metrics)
            cases[order] = [run, state, [], float(cost.get("flops", float("nan")))]
        for _ in range(args.repeats):  # interleaved, so a busy machine slows both alike
            for case in cases.values():
                t = time.perf_counter()
                case[1], metrics = case[0](case[1])
                jax.block_until_ready(metrics)
                case[2].append(args.iters / (time.perf_counter() - t))
        base = None
        for order, (_, _, rates, flops) in cases.items():
            rate = float(np.median(rates))
            base = base or rate
            hours = PAPER_ITERATIONS / rate / 3600
            print(f"{cell} ({way}-way 1-shot, meta-batch {meta_batch}, {steps} inner step"
                  f"{'s' if steps > 1 else ''}), {order}: {rate:.2f} it/s "
                  f"({rate / base:.2f}× second order), {flops * rate / peak:.1%} of peak, "
                  f"{PAPER_ITERATIONS:,} iterations {hours:.1f} h")


if __name__ == "__main__":
    main()
