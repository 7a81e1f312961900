"""Benchmark: wall time of the classical-agent tables of RL² (Tables 1 and 2), per agent.

Run: `python benchmarks/baselines.py [--preset default|paper] [--table bandits|mdps|both]`.
Times every agent's whole grid over every setting at the preset's grids and 1000 instances,
after the Gittins tables are cached (their one-off build is timed apart), and prints the total
beside the per-agent breakdown. As in the experiment, each MDP agent runs once, for the longest
trial, and every row of Table 2 is read off it (`mdp.run_mdp_grid` with a sequence of n).
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np

from adaptax.baselines import bandits, gittins, mdp, stats, tuning
from adaptax.envs import BernoulliBandit, TabularMDP, instances
from adaptax.experiments.baselines import (
    BANDITS,
    MDPS,
    BanditBaselinesConfig,
    MDPBaselinesConfig,
)


def bench_bandits(config: BanditBaselinesConfig) -> dict[str, float]:
    t = time.perf_counter()
    gittins.gittins_table(bandits.PAPER_TABLE_GAMMA, bandits.PAPER_TABLE_MAX_PULLS,
                          bandits.PAPER_TABLE_GRID_SIZE)
    print(f"  Gittins calibration table (cached after the first run): "
          f"{time.perf_counter() - t:.1f} s")
    seconds: dict[str, float] = defaultdict(float)
    for n in config.n:
        for k in config.k:
            probs = np.asarray(instances(BernoulliBandit(num_arms=k), config.instances).probs,
                               dtype=np.float64)
            outcomes = bandits.bandit_outcomes(probs, n, config.seed)
            for agent in config.agents:
                t = time.perf_counter()
                grid = tuning.bandit_grid(agent, config.mode, config.ots_samples)
                stats.choose(grid, bandits.run_bandit_grid(
                    agent, probs, n, config.seed, config.mode, grid, outcomes=outcomes,
                    workers=config.workers))
                seconds[agent] += time.perf_counter() - t
    return seconds


def bench_mdps(config: MDPBaselinesConfig) -> dict[str, float]:
    tasks = instances(TabularMDP(), config.instances)
    mu = np.asarray(tasks.reward_mean, dtype=np.float64)
    p = np.asarray(tasks.transition, dtype=np.float64)
    seconds: dict[str, float] = {}
    for agent in config.agents:  # every n from one run of the longest trial, as the experiment
        t = time.perf_counter()
        mdp.run_mdp_grid(agent, mu, p, config.n, config.seed, config.mode,
                         grid=tuning.mdp_grid(agent, config.opsrl_samples, config.scalings,
                                             config.epsilons),
                         workers=config.workers)
        seconds[agent] = time.perf_counter() - t
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="default", choices=("smoke", "default", "paper"))
    parser.add_argument("--table", default="both", choices=("bandits", "mdps", "both"))
    args = parser.parse_args()
    total = 0.0
    for name, experiment, fn in (("bandits", BANDITS, bench_bandits),
                                 ("mdps", MDPS, bench_mdps)):
        if args.table not in (name, "both"):
            continue
        config = experiment.make_config(args.preset)
        print(f"{experiment.name} ({args.preset} preset, {config.instances} instances):")
        seconds = fn(config)
        for agent, s in sorted(seconds.items(), key=lambda kv: -kv[1]):
            print(f"  {agent:22s} {s:8.1f} s")
        print(f"  {'total':22s} {sum(seconds.values()):8.1f} s")
        total += sum(seconds.values())
    print(f"both tables: {total:.1f} s")


if __name__ == "__main__":
    main()
