"""Benchmark: MAML on Omniglot tasks with Conv4's two convolution implementations.

One second-order MAML meta-iteration (5-way 1-shot, 5 query images per class, meta-batch 8, one
inner step, 64 filters) on the shipped Omniglot subset, with `Conv4(conv="patches")` (a matmul
over image patches) and `Conv4(conv="lax")` (XLA's convolution), timed interleaved in one
process after compilation. Prints seconds per meta-iteration (medians) and the ratio.

Run: `python benchmarks/fewshot_conv.py` (options: --meta-batch, --repeats).
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from adaptax.datasets import omniglot
from adaptax.meta import maml
from adaptax.nets.conv4 import Conv4
from adaptax.tasks import fewshot


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--meta-batch", type=int, default=8)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    chars = omniglot.concat(*(omniglot.load_characters(
        omniglot.SHIPPED / f"images_background_small{i}.zip") for i in (1, 2)))
    pool = jnp.asarray(chars.images)
    steps = {}
    for conv in ("patches", "lax"):
        net = Conv4(classes=5, conv=conv)

        def loss(params, batch, net=net):
            logits = net.apply(params, batch.x)
            return optax.softmax_cross_entropy_with_integer_labels(logits, batch.y).mean()

        trainer = maml.make_meta_trainer(
            maml.maml_objective(loss, lr=0.4),
            lambda k: fewshot.sample_tasks(k, pool, args.meta_batch, 5, 1, 5, rotations=True),
            optax.adam(1e-3), presample=False)
        state = trainer.init(jax.random.PRNGKey(1),
                             net.init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1))))
        step = trainer.run.lower(state, 1).compile()
        state, _ = jax.block_until_ready(step(state))
        steps[conv] = (step, state)
    times: dict[str, list[float]] = {conv: [] for conv in steps}
    for _ in range(args.repeats):
        for conv, (step, state) in steps.items():
            t = time.perf_counter()
            state, metrics = step(state)
            jax.block_until_ready(metrics)
            times[conv].append(time.perf_counter() - t)
            steps[conv] = (step, state)
    print(f"device: {jax.devices()[0]}  jax {jax.__version__}; second-order MAML, Conv4 64, "
          f"5-way 1-shot, 5 query, meta-batch {args.meta_batch}")
    med = {conv: float(np.median(t)) for conv, t in times.items()}
    for conv, t in times.items():
        print(f"  conv={conv:>8}: {med[conv]:.3f} s per meta-iteration (median of "
              f"{args.repeats}, range {min(t):.3f}-{max(t):.3f})")
    print(f"  ratio lax / patches: {med['lax'] / med['patches']:.2f}x")


if __name__ == "__main__":
    main()
