"""Benchmark: RL² training throughput on one host device against data-parallel over D host devices.

On a CPU, XLA runs a small recurrent network's many small matmuls on about one core, so a
single RL² learner leaves the other cores idle. This script splits the CPU into D host devices
(`XLA_FLAGS=--xla_force_host_platform_device_count=D`, set before JAX is imported) and times,
interleaved in one process, the same learner's `run` called plainly and under a D-device data
mesh (`adaptax.parallel.on`): B trials per iteration and the same PPO updates either way (each
device collects B / D trials; XLA splits the minibatches and averages the gradients), so both
train the same environment steps per iteration, to the same numbers.

Run: `python benchmarks/rl2_devices.py` (options: --devices, --hidden, --trials, --epochs,
--minibatches, --iters, --repeats). Prints trained environment steps per second (medians) and
their ratio.
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--devices", type=int, default=os.cpu_count() or 1)
    p.add_argument("--hidden", type=int, default=64, help="GRU units (64: the default preset)")
    p.add_argument("--trials", type=int, default=256, help="trials per iteration, all devices")
    p.add_argument("--minibatches", type=int, default=4, help="PPO minibatches per epoch")
    p.add_argument("--epochs", type=int, default=4, help="PPO epochs (4: the presets')")
    p.add_argument("--iters", type=int, default=3, help="iterations per timed dispatch")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    if args.devices < 1 or args.trials % args.devices or args.trials % args.minibatches:
        raise SystemExit("--devices and --minibatches must divide --trials")
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               f" --xla_force_host_platform_device_count={args.devices}")
    import jax
    import numpy as np

    from adaptax import parallel
    from adaptax.envs import TabularMDP
    from adaptax.rl.rl2 import RL2Settings, rl2_agent, rl2_learner

    env, d = TabularMDP(10, 5, 10), args.devices

    # the MDP default's settings (docs/rl2.md "Presets")
    s = RL2Settings(hidden_size=args.hidden, embed_size=args.hidden, trials_per_batch=args.trials,
                    algorithm="ppo", epochs=args.epochs, minibatches=args.minibatches, lr=3e-3,
                    ent_coef=0.01, value_norm=True, time_feature=True)
    agent = rl2_agent(env, 10, s)
    one = rl2_learner(agent)
    split = parallel.on(parallel.data_mesh(d), one.run)
    start = one.init(jax.random.PRNGKey(0))
    cases = {
        "1 device": (lambda st: one.run(st, args.iters), start),
        f"{d} devices": (lambda st: split(st, args.iters), start),
    }
    states = {}
    for name, (fn, st) in cases.items():  # compile and warm up
        st, _ = fn(st)
        states[name] = jax.block_until_ready(st)
    steps = args.trials * agent.trial_steps * args.iters
    rates: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeats):  # interleaved, so a busy machine slows both alike
        for name, (fn, _) in cases.items():
            t = time.perf_counter()
            states[name], metrics = fn(states[name])
            jax.block_until_ready(metrics)
            rates[name].append(steps / (time.perf_counter() - t))
    print(f"jax {jax.__version__}, {jax.device_count()} host devices, GRU {args.hidden}, MDPs "
          f"n = 10, {args.trials} trials/iteration, PPO {args.epochs} epochs × {args.minibatches} "
          "minibatches")
    med = {name: float(np.median(r)) for name, r in rates.items()}
    for name, r in rates.items():
        print(f"{name:>18}: {med[name]:9.0f} trained steps/s (median of {args.repeats}, range "
              f"{min(r):.0f}-{max(r):.0f})")
    a, b = med.values()
    print(f"ratio: {b / a:.2f}x")


if __name__ == "__main__":
    main()
