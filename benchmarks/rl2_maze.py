"""RL² on first-person mazes, speed of the conv–GRU agent: collection and update throughput.

    .venv/bin/python benchmarks/rl2_maze.py [--size 5] [--trials 32] [--repeats 3]
        [--hidden 256] [--episodes 2]

The paper's agent (two 5×5 stride-2 convolutions of 16 filters, dense 256, GRU 256, policy and
value sharing the torso) on ``maze-{size}x{size}`` trials of ``episodes`` episodes of 250 steps:
``collect`` is one trial per task with the policy stepped inside the rollout (environment step,
render and the network's forward pass), in environment steps/s; ``update`` is one PPO epoch over
the collected batch (one minibatch: the unroll's forward and backward pass through the
convolutions and the GRU), in samples/s; ``iteration`` both together plus the task draws.
Medians of ``repeats`` after one compiling call, each part compiled alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import jax

from adaptax.envs import make
from adaptax.rl import rl2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=5, choices=(5, 9))
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--episodes", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    env = make(f"maze-{args.size}x{args.size}")
    settings = rl2.RL2Settings(hidden_size=args.hidden, embed_size=args.hidden,
                               trials_per_batch=args.trials, minibatches=1, epochs=1,
                               shared_torso=True, lam=0.99)
    agent = rl2.rl2_agent(env, args.episodes, settings)
    state = rl2.init(agent, jax.random.PRNGKey(0))
    tasks = jax.vmap(env.sample_task)(jax.random.split(jax.random.PRNGKey(1), args.trials))
    collect = jax.jit(lambda p, t, k: rl2.collect(agent, p, t, k))
    traj = collect(state.params, tasks, jax.random.PRNGKey(2))
    batch = jax.jit(lambda tr: rl2.prepare(agent, tr))(traj)
    update = jax.jit(lambda s, b, k: rl2.update(agent, s, b, k))
    iteration = jax.jit(lambda s: rl2.iteration(agent, s))
    parts = {"collect": (collect, (state.params, tasks, jax.random.PRNGKey(2))),
             "update": (update, (state, batch, jax.random.PRNGKey(3))),
             "iteration": (iteration, (state,))}
    for fn, inputs in parts.values():
        jax.block_until_ready(fn(*inputs))  # compile
    times = {name: [] for name in parts}
    for _ in range(args.repeats):
        for name, (fn, inputs) in parts.items():
            t0 = time.perf_counter()
            jax.block_until_ready(fn(*inputs))
            times[name].append(time.perf_counter() - t0)
    steps = args.trials * agent.trial_steps
    median = {name: statistics.median(v) for name, v in times.items()}
    print(json.dumps({
        "maze": args.size, "trials": args.trials, "trial_steps": agent.trial_steps,
        "hidden": args.hidden, "collect_steps_per_s": round(steps / median["collect"]),
        "update_samples_per_s": round(steps / median["update"]),
        "iteration_steps_per_s": round(steps / median["iteration"]),
        "seconds_median": {k: round(v, 3) for k, v in median.items()},
        "backend": jax.default_backend(), "cpu_count": os.cpu_count()}), flush=True)


if __name__ == "__main__":
    main()
