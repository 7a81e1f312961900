"""MuJoCo locomotion speed on this CPU: environment steps/s of each way of stepping, and MAML-RL
meta-iterations at the paper's sizes.

    .venv/bin/python benchmarks/mujoco_sampler.py [--envs 800] [--repeats 5] [--iters 2]
        [--robots half_cheetah ant] [--no-maml]

Per robot and stepping kind (`Locomotion.batch`: ``rollout`` = `mujoco.rollout`'s threads with
the centre of mass from the states, the half-cheetah's default; ``threads`` = one MjData per
environment on a Python thread pool, the ant's): ``physics`` is `batch.step` alone with random
controls (environment steps/s of the simulator and the observation reads), ``sampler`` the whole
`MujocoSampler` call with the paper's 100-100 Gaussian policy evaluated at every step
(trajectories of 200 steps, 40 tasks × 20 trajectories = 800 environments). Kinds are timed
interleaved in one process (the machine is shared and noisy) and medians reported. Then one
`paper`-sized MAML-RL meta-iteration (40 tasks × 20 trajectories before and after adaptation,
TRPO through the inner step) per robot, and the projected wall time of the `paper` preset's
three trained methods (500 iterations each).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from adaptax.envs.locomotion import Locomotion
from adaptax.nets.gaussian_mlp import GaussianMLP
from adaptax.rl import maml_rl as mr
from adaptax.rl.mujoco_sampler import MujocoSampler, default_threads

KINDS = {"half_cheetah": ("rollout", "threads"), "ant": ("threads",)}


def stepping(robot: str, envs: int, repeats: int, horizon: int = 200) -> list[dict]:
    env = Locomotion(robot, "velocity", horizon=horizon)
    threads = default_threads()
    net = GaussianMLP(hidden=(100, 100), action_dim=env.action_dim)
    params = net.init(jax.random.PRNGKey(0), jnp.zeros((env.obs_dim,)))
    batch, trajs = envs // 20, 20
    setups = {}
    for kind in KINDS[robot]:
        physics = env.batch(envs, threads, kind)
        physics.reset(np.random.default_rng(0))
        sampler = MujocoSampler(env, threads=threads, kind=kind)
        tasks = sampler.sample_tasks(jax.random.PRNGKey(1), batch)
        keys = jax.random.split(jax.random.PRNGKey(2), batch)
        sampler(net.apply, params, tasks, keys, trajs, True)  # compile the policy
        setups[kind] = (physics, sampler, tasks, keys)
    ctrl = np.random.default_rng(3).uniform(-1, 1, (envs, env.action_dim))
    alive = np.ones(envs, bool)
    times = {(kind, part): [] for kind in setups for part in ("physics", "sampler")}
    for _ in range(repeats):
        for kind, (physics, sampler, tasks, keys) in setups.items():
            t0 = time.perf_counter()
            for _ in range(20):
                physics.step(ctrl, alive)
            times[kind, "physics"].append(20 * envs / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            sampler(net.apply, params, tasks, keys, trajs, True)
            times[kind, "sampler"].append(envs * horizon / (time.perf_counter() - t0))
    return [{"robot": robot, "kind": kind, "part": part, "envs": envs, "threads": threads,
             "steps_per_s_median": round(statistics.median(v)),
             "steps_per_s_all": [round(x) for x in v]} for (kind, part), v in times.items()]


def meta_iteration(robot: str, iters: int) -> dict:
    """Seconds per paper-sized MAML-RL meta-iteration (after a first, compiling one)."""
    env = Locomotion(robot, "velocity")
    net = GaussianMLP(hidden=(100, 100), action_dim=env.action_dim,
                      kernel_init="glorot_uniform")
    algo = mr.MAMLRL(meta_batch=40, num_trajs=20, damping=1e-5)
    learner = mr.make_maml_rl(algo, net.apply, MujocoSampler(env),
                              lambda k: net.init(k, jnp.zeros((env.obs_dim,))))
    state = learner.init(jax.random.PRNGKey(0))
    t0 = time.perf_counter()
    state, _ = learner.run(state, 1)
    first = time.perf_counter() - t0
    seconds = []
    for _ in range(iters):
        t0 = time.perf_counter()
        state, _ = learner.run(state, 1)
        seconds.append(time.perf_counter() - t0)
    per = statistics.median(seconds)
    steps = 2 * algo.meta_batch * algo.num_trajs * env.horizon
    return {"robot": robot, "meta_batch": 40, "trajs": 20, "horizon": env.horizon,
            "first_iteration_s": round(first, 1), "seconds_per_iteration_median": round(per, 2),
            "seconds_all": [round(s, 2) for s in seconds],
            "env_steps_per_iteration": steps, "env_steps_per_s": round(steps / per),
            "projected_paper_preset_h": round(3 * 500 * per / 3600, 2),
            "cpu_count": os.cpu_count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=800)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--iters", type=int, default=2)
    parser.add_argument("--robots", nargs="+", default=["half_cheetah", "ant"])
    parser.add_argument("--no-maml", action="store_true")
    args = parser.parse_args()
    for robot in args.robots:
        for row in stepping(robot, args.envs, args.repeats):
            print(json.dumps(row), flush=True)
        if not args.no_maml:
            print(json.dumps(meta_iteration(robot, args.iters)), flush=True)


if __name__ == "__main__":
    main()
