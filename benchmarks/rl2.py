"""Benchmark: trained environment steps per second of the GRU-256 RL² agent (rollout + update),
on bandits (k = 5, n = 10) and tabular MDPs (n = 10), and the share of the machine's float32
matmul peak they reach (the peak is measured in the same run).

Run: `python benchmarks/rl2.py` (options: --iters, --repeats, --algorithm, --hidden, --epochs,
--minibatches, --steps-per-iteration: 250000 is the paper's batch, for a GPU; --cases).

FLOPs are counted analytically (dense layers only, 2 FLOPs per multiply-add), per environment
step and per network (policy and value GRU):

    forward = 2·(D·E + 3·E·H + 3·H·H + H·out)          D input, E embedding, H GRU units
    trained step (PPO) = forward (rollout) + epochs · 3 · forward (recompute + backward)
    trained step (TRPO) ≈ forward · (rollout + 3 grad + 2·cg_iters FVP + line search + value fit)

For GRU 256 (E = 256) one forward of both networks is ≈ 1.6 MFLOP per step; the issue's
"2.4 MFLOP per trained step" is one forward and one backward pass at about half that cost each.
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np
from _peak import matmul_peak, peak_size  # benchmarks/_peak.py (scripts run from benchmarks/)

from adaptax.envs import BernoulliBandit, TabularMDP, policy_input_size
from adaptax.rl.rl2 import RL2Settings, rl2_agent, rl2_learner


def forward_flops(input_size: int, embed: int, hidden: int, actions: int) -> float:
    """Dense FLOPs of one step of the policy and the value network together."""
    one = 2 * (input_size * embed + 3 * embed * hidden + 3 * hidden * hidden)
    return 2 * one + 2 * hidden * actions + 2 * hidden


def trained_step_flops(settings: RL2Settings, fwd: float) -> float:
    """Analytic FLOPs per trained environment step (see the module docstring)."""
    if settings.algorithm == "ppo":
        return fwd * (1 + 3 * settings.epochs)
    # rollout + old logits + surrogate gradient (3) + FVPs (≈ 4 forward each, linearised once)
    # + ~2 line-search candidates + value fit (3 per step, value network only ≈ half)
    return fwd * (1 + 1 + 3 + 4 * settings.cg_iters + 2 + 1.5 * settings.value_steps)


def bench(env, episodes: int, trials: int, settings: RL2Settings, iters: int,
          repeats: int) -> dict:
    agent = rl2_agent(env, episodes, settings)
    learner = rl2_learner(agent)
    state = learner.init(jax.random.PRNGKey(0))
    t = time.perf_counter()
    compiled = learner.run.lower(state, iters).compile()
    compile_s = time.perf_counter() - t
    state, _ = compiled(state)  # warm-up
    jax.block_until_ready(state)
    rates = []
    steps = iters * trials * agent.trial_steps
    for _ in range(repeats):
        t = time.perf_counter()
        state, metrics = compiled(state)
        jax.block_until_ready(metrics)
        rates.append(steps / (time.perf_counter() - t))
    fwd = forward_flops(policy_input_size(env), settings.embed_size, settings.hidden_size,
                        env.num_actions)
    return {"compile_s": compile_s, "steps_s": float(np.median(rates)), "rates": rates,
            "flops_per_step": trained_step_flops(settings, fwd), "forward_flops": fwd}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--iters", type=int, default=2, help="iterations per timed dispatch")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--algorithm", default="ppo", choices=("ppo", "trpo"))
    p.add_argument("--epochs", type=int, default=4, help="PPO epochs (4: the default preset)")
    p.add_argument("--minibatches", type=int, default=4, help="PPO minibatches per epoch")
    p.add_argument("--steps-per-iteration", type=int, default=0,
                   help="> 0: trials per iteration = this / trial length (paper: 250000); "
                        "0: 1024 bandit and 256 MDP trials")
    p.add_argument("--cases", default="bandits,mdps", help="comma-separated: bandits, mdps")
    args = p.parse_args()
    unknown = set(args.cases.split(",")) - {"bandits", "mdps"}
    if unknown:
        p.error(f"--cases takes bandits and/or mdps, not {', '.join(sorted(unknown))}")
    peak = matmul_peak()
    print(f"device: {jax.devices()[0]}  jax {jax.__version__}")
    print(f"float32 matmul peak ({peak_size()}², median): {peak / 1e9:.1f} GFLOP/s")
    cases = {"bandits": ("bandits k=5 n=10", BernoulliBandit(5), 10, 1024, 10),
             "mdps": ("MDPs n=10", TabularMDP(10, 5, 10), 10, 256, 100)}
    for case in args.cases.split(","):
        name, env, episodes, trials, steps_per_trial = cases[case]
        if args.steps_per_iteration:
            trials = max(1, args.steps_per_iteration // steps_per_trial)
        settings = RL2Settings(hidden_size=args.hidden, embed_size=args.hidden,
                               trials_per_batch=trials, algorithm=args.algorithm,
                               epochs=args.epochs, minibatches=args.minibatches)
        r = bench(env, episodes, trials, settings, args.iters, args.repeats)
        frac = r["steps_s"] * r["flops_per_step"] / peak
        issue_limit = peak / 2.4e6
        update = (f"PPO {args.epochs}×{args.minibatches}" if args.algorithm == "ppo" else "TRPO")
        print(f"{name}: GRU {args.hidden} {update}, {trials} trials/iteration: "
              f"{r['steps_s']:9.0f} trained steps/s (median of {args.repeats}, range "
              f"{min(r['rates']):.0f}-{max(r['rates']):.0f}), compile {r['compile_s']:.1f} s; "
              f"{r['flops_per_step'] / 1e6:.1f} MFLOP/step (forward {r['forward_flops'] / 1e6:.2f})"
              f" = {100 * frac:.1f}% of matmul peak; at the issue's 2.4 MFLOP/step: "
              f"{100 * r['steps_s'] / issue_limit:.1f}% of {issue_limit:.0f} steps/s")
    print(f"float32 matmul peak again: {matmul_peak() / 1e9:.1f} GFLOP/s (load check)")


if __name__ == "__main__":
    main()
