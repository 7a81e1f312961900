"""MAML-RL speed on 2D navigation: meta-iterations/s, environment steps/s, paper-preset wall time.

    .venv/bin/python benchmarks/maml_rl.py [--hvp gauss_newton|finite_difference|exact] [--iters N]
        [--meta-batch 20] [--trajs 20] [--cg-iters 10] [--fvp-subsample 0.25 [1.0 ...]]
        [--fvp-subsample-by trajectory|time]
        [--inner-steps 3 --meta-objective all --fvp-subsample-by time --inner-estimator lvc]
        (the `paper` preset's MAML) [--measured-step]
        [--breakdown]   (also: seconds of sampling, gradient, CG and one line-search candidate)
        [--devices D]   (also time each variant data-parallel over D host devices, `devices=D`)
    .venv/bin/python benchmarks/maml_rl.py --curvature RUN_FOLDER [--inner-steps 3
        --meta-objective all] [--inner-estimator lvc] [--iters N]   (how well each Fisher
        subsample sizes the TRPO step at the MAML checkpoint of a `maml-rl-nav2d` run; not a
        speed figure)

Compile time is measured apart from run time (the first call compiles). One meta-iteration samples
meta_batch × trajs × horizon steps before adaptation and as many after it, so environment steps
per iteration = 2 · meta_batch · trajs · horizon (80,000 at the paper's settings). The paper
preset trains MAML for 500 meta-iterations (plus the pretrained and oracle baselines, 500 TRPO
iterations each without the inner step, timed here with --inner-steps 0). Several
--fvp-subsample values are timed side by side in one process, interleaved (the machine is shared
and noisy), and the median per variant is reported; 0.25 is the experiment's default, 1.0 the
paper code's (Fisher-vector products on all trajectories).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

if __name__ == "__main__" and "--devices" in sys.argv:  # XLA reads this when JAX starts
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_"
                               f"device_count={sys.argv[sys.argv.index('--devices') + 1]}")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402

from adaptax import parallel
from adaptax.envs.navigation2d import Navigation2D  # noqa: E402
from adaptax.nets.gaussian_mlp import GaussianMLP  # noqa: E402
from adaptax.rl import maml_rl as mr  # noqa: E402
from adaptax.rl.trpo import conjugate_gradient  # noqa: E402
from adaptax.storage import checkpoint  # noqa: E402


def _algo(hvp: str, meta_batch: int, trajs: int, cg_iters: int, inner_steps: int,
          horizon: int, fvp_subsample: float, meta_objective: str, measured_step: bool,
          fvp_subsample_by: str = "trajectory", inner_estimator: str = "reinforce",
          devices: int = 1):
    net = GaussianMLP(hidden=(100, 100), action_dim=2, kernel_init="glorot_uniform")
    algo = mr.MAMLRL(meta_batch=meta_batch, num_trajs=trajs, hvp=hvp, cg_iters=cg_iters,
                     inner_steps=inner_steps, fvp_subsample=fvp_subsample,
                     fvp_subsample_by=fvp_subsample_by, meta_objective=meta_objective,
                     measured_step=measured_step, inner_estimator=inner_estimator)
    mesh = parallel.data_mesh(devices)
    algo = algo, net.apply, mr.EnvSampler(Navigation2D(horizon=horizon))
    return algo, mesh, net.init(jax.random.PRNGKey(0), jnp.zeros(2))


def _setup(*args):
    algo, mesh, params = _algo(*args)
    learner = mr.make_maml_rl(*algo)
    return parallel.on(mesh, learner.run), learner.init(jax.random.PRNGKey(1), params)


def breakdown(meta_batch: int, trajs: int, cg_iters: int, inner_steps: int, horizon: int,
              fvp_subsample: float, meta_objective: str, repeats: int,
              fvp_subsample_by: str = "trajectory", inner_estimator: str = "reinforce") -> dict:
    """Seconds of each part of one ``gauss_newton`` meta-iteration, each part compiled alone.

    Parts, on one sampled meta-batch at the initial policy: ``sample`` (sampling and the inner
    steps, `sample_phase`), ``gradient`` (the surrogate's value and gradient through the inner
    steps, all data), ``cg`` (linearisation and the `cg_iters` + 1 Fisher-vector products of CG
    and the step length) and ``candidate`` (one line-search evaluation: loss and KL, all data;
    an accepted full step costs one). Timed interleaved, medians of `repeats`.
    """
    algo, _, params = _algo("gauss_newton", meta_batch, trajs, cg_iters, inner_steps, horizon,
                            fvp_subsample, meta_objective, False, fvp_subsample_by,
                            inner_estimator)
    theta, unravel = ravel_pytree(params)
    data = jax.jit(lambda k1, k2: mr.sample_phase(*algo, params, k1, k2))(
        *jax.random.split(jax.random.PRNGKey(1)))

    def cg(g, d):
        problem = mr.outer_problem(*algo[:2], *d)
        matvec = mr.gauss_newton_fvp(lambda t: problem.outputs(unravel(t)),
                                     problem.kl_of_outputs, theta, algo[0].damping)
        direction, _ = conjugate_gradient(matvec, -g, algo[0].cg_iters)
        return direction, jnp.vdot(direction, matvec(direction))

    def candidate(t, d):
        problem = mr.outer_problem(*algo[:2], *d)
        return problem.loss_fn(unravel(t)), problem.kl_fn(unravel(t))

    keys = jax.random.split(jax.random.PRNGKey(2))
    gradient = jax.jit(lambda t, d: jax.value_and_grad(
        lambda x: mr.outer_problem(*algo[:2], *d).loss_fn(unravel(x)))(t))
    g = gradient(theta, data)[1]
    parts = {
        "sample": (jax.jit(lambda k1, k2: mr.sample_phase(*algo, params, k1, k2)), keys),
        "gradient": (gradient, (theta, data)),
        "cg": (jax.jit(cg), (g, data)),
        "candidate": (jax.jit(candidate), (theta + 1e-3 * g, data)),
    }
    times = {name: [] for name in parts}
    for fn, args in parts.values():
        jax.block_until_ready(fn(*args))  # compile
    for _ in range(repeats):
        for name, (fn, args) in parts.items():
            t0 = time.perf_counter()
            jax.block_until_ready(fn(*args))
            times[name].append(time.perf_counter() - t0)
    out = {name: round(statistics.median(v), 3) for name, v in times.items()}
    return {"breakdown_seconds_median": out, "inner_steps": inner_steps,
            "meta_objective": meta_objective, "fvp_subsample": fvp_subsample,
            "fvp_subsample_by": fvp_subsample_by, "inner_estimator": inner_estimator,
            "cg_iters": cg_iters, "repeats": repeats}


# (how the Fisher subsample is drawn, fraction, CG iterations)
CURVATURE_SCHEMES = (("all", 1.0, 10), ("trajectory", 0.25, 10), ("time", 0.25, 10),
                     ("time", 0.25, 5), ("time", 0.125, 10), ("time", 0.0625, 10))


def curvature(run_folder: str, inner_steps: int, meta_objective: str,
              repeats: int, inner_estimator: str = "reinforce") -> list[dict]:
    """How well each Fisher subsample sizes the TRPO step, at a run's trained MAML policy.

    For `repeats` fresh meta-batches sampled by the checkpointed policy: each scheme's CG
    direction d (same gradient, all data), its curvature dᵀF_s d under its own Fisher (which
    sets the model's step length) and dᵀF d under the all-data Fisher; ``overestimate`` is their
    ratio (1 = the step's KL is what the model predicts). ``true_kl`` is the measured mean KL of
    the model's full step (δ = 0.01 when the model is right) and ``gain_per_sqrt_kl`` the
    surrogate gained by that step per sqrt(true KL) (the direction's quality whatever its
    length). Medians over the meta-batches.
    """
    folder = Path(run_folder) / "checkpoint"
    algos = {s: _algo("gauss_newton", 20, 20, s[2], inner_steps, 100, s[1], meta_objective,
                      False, "trajectory" if s[0] == "all" else s[0], inner_estimator)[0]
             for s in CURVATURE_SCHEMES}
    algo, _, params = _algo("gauss_newton", 20, 20, 10, inner_steps, 100, 1.0, meta_objective,
                            False, inner_estimator=inner_estimator)
    template = mr.make_maml_rl(*algo).init(jax.random.PRNGKey(0), params)
    state, step = checkpoint.load(folder, "maml", template, experiment="maml-rl-nav2d")
    theta, unravel = ravel_pytree(state.params)

    @jax.jit
    def measure_one(key):
        data = mr.sample_phase(*algo, state.params, *jax.random.split(key))
        full = mr.outer_problem(*algo[:2], *data)
        loss = lambda t: full.loss_fn(unravel(t))  # noqa: E731
        loss0, g = jax.value_and_grad(loss)(theta)
        f_full = mr.gauss_newton_fvp(lambda t: full.outputs(unravel(t)), full.kl_of_outputs,
                                     theta, algo[0].damping)
        out = {}
        for (by, f, cg), (a, apply_fn, _) in algos.items():
            problem = mr.outer_problem(a, apply_fn, *data)
            f_own = mr.gauss_newton_fvp(lambda t, p=problem: p.outputs(unravel(t)),
                                        problem.kl_of_outputs, theta, a.damping)
            d, _ = conjugate_gradient(f_own, -g, a.cg_iters)
            own, true = jnp.vdot(d, f_own(d)), jnp.vdot(d, f_full(d))
            step_ = jnp.sqrt(2 * a.max_kl / own) * d
            kl = full.kl_fn(unravel(theta + step_))
            gain = (loss0 - loss(theta + step_)) / jnp.sqrt(kl)
            out[f"{by} {f}, {cg} CG"] = (own / true, kl, gain)
        return out

    rows = {}
    for i in range(repeats):
        got = jax.device_get(measure_one(jax.random.PRNGKey(100 + i)))
        for name, values in got.items():
            rows.setdefault(name, []).append([float(v) for v in values])
    return [{"scheme": name, "checkpoint_iteration": step, "inner_steps": inner_steps,
             "meta_batches": repeats,
             **{k: round(statistics.median(r[j] for r in v), 5)
                for j, k in enumerate(("overestimate", "true_kl", "gain_per_sqrt_kl"))}}
            for name, v in rows.items()]


def measure(hvp: str, iters: int, meta_batch: int, trajs: int, cg_iters: int,
            inner_steps: int = 1, horizon: int = 100,
            fvp_subsamples: tuple[float, ...] = (0.25,), meta_objective: str = "last",
            measured_step: bool = False, fvp_subsample_by: str = "trajectory",
            inner_estimator: str = "reinforce", devices: int = 1) -> list[dict]:
    """Compiles each variant (subsample × 1 or `devices` devices), then times `iters` rounds of
    one iteration per variant, interleaved."""
    variants = [(f, d) for f in fvp_subsamples for d in sorted({1, devices})]
    runs, compile_s, times = {}, {}, {v: [] for v in variants}
    for v in variants:
        run, state = _setup(hvp, meta_batch, trajs, cg_iters, inner_steps, horizon, v[0],
                            meta_objective, measured_step, fvp_subsample_by, inner_estimator,
                            v[1])
        t0 = time.perf_counter()
        state, m = run(state, 1)
        jax.block_until_ready(m)
        compile_s[v] = time.perf_counter() - t0
        state, m = run(state, 1)  # the returned state's types can differ once: warm up again
        jax.block_until_ready(m)
        runs[v] = (run, state)
    for _ in range(iters):  # interleaved, so load changes hit every variant alike
        for v in variants:
            run, state = runs[v]
            t0 = time.perf_counter()
            state, m = run(state, 1)
            jax.block_until_ready(m)
            times[v].append(time.perf_counter() - t0)
            runs[v] = (run, state)
    steps = (inner_steps + 1) * meta_batch * trajs * horizon
    out = []
    for v in variants:
        per_iter = statistics.median(times[v])
        out.append({
            "hvp": hvp, "fvp_subsample": v[0], "devices": v[1], "meta_batch": meta_batch,
            "trajs": trajs, "cg_iters": cg_iters, "inner_steps": inner_steps,
            "meta_objective": meta_objective, "measured_step": measured_step,
            "fvp_subsample_by": fvp_subsample_by, "inner_estimator": inner_estimator,
            "compile_s": round(compile_s[v] - per_iter, 1),
            "seconds_per_meta_iteration_median": round(per_iter, 3),
            "seconds_all": [round(t, 3) for t in times[v]],
            "meta_iterations_per_s": round(1 / per_iter, 3),
            "env_steps_per_s": round(steps / per_iter),
            "projected_500_iterations_min": round(500 * per_iter / 60, 1),
            "jax_devices": str(jax.devices()), "cpu_count": os.cpu_count(),
        })
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hvp", default="gauss_newton",
                   choices=["gauss_newton", "finite_difference", "exact"])
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--meta-batch", type=int, default=20)
    p.add_argument("--trajs", type=int, default=20)
    p.add_argument("--cg-iters", type=int, default=10)
    p.add_argument("--inner-steps", type=int, default=1)
    p.add_argument("--fvp-subsample", type=float, nargs="+", default=[0.25])
    p.add_argument("--fvp-subsample-by", default="trajectory", choices=["trajectory", "time"])
    p.add_argument("--meta-objective", default="last", choices=["last", "all"])
    p.add_argument("--measured-step", action="store_true")
    p.add_argument("--inner-estimator", default="reinforce", choices=["reinforce", "lvc"])
    p.add_argument("--devices", type=int, default=1,
                   help="also time each variant data-parallel over this many host devices")
    p.add_argument("--breakdown", action="store_true",
                   help="also time the parts of one iteration (gauss_newton, first subsample)")
    p.add_argument("--curvature", metavar="RUN_FOLDER",
                   help="only measure each Fisher subsample's step sizing at this run's MAML "
                        "checkpoint (--iters meta-batches)")
    a = p.parse_args()
    if a.curvature:
        for row in curvature(a.curvature, a.inner_steps, a.meta_objective, a.iters,
                             a.inner_estimator):
            print(json.dumps(row))
        return
    if a.breakdown:
        print(json.dumps(breakdown(a.meta_batch, a.trajs, a.cg_iters, a.inner_steps, 100,
                                   a.fvp_subsample[0], a.meta_objective, a.iters,
                                   a.fvp_subsample_by, a.inner_estimator)))
    for row in measure(a.hvp, a.iters, a.meta_batch, a.trajs, a.cg_iters, a.inner_steps,
                       fvp_subsamples=tuple(a.fvp_subsample), meta_objective=a.meta_objective,
                       measured_step=a.measured_step, fvp_subsample_by=a.fvp_subsample_by,
                       inner_estimator=a.inner_estimator, devices=a.devices):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
