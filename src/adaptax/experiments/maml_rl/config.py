"""The MAML-RL experiments' settings: configs, presets and the published numbers.

``maml-rl-nav2d`` (2D navigation, a JAX environment) and the four locomotion tasks
``maml-rl-cheetah-vel``, ``-cheetah-dir``, ``-ant-vel``, ``-ant-dir`` (native MuJoCo) share one
protocol; a config's ``task`` names its environment.

Example:
  >>> Nav2DConfig().methods
  ('maml', 'pretrained', 'random', 'oracle')
  >>> PRESETS["paper"]["iterations"], PAPER["maml"][2]
  (500, -3.3)
  >>> LocomotionConfig(task="ant-dir").horizon, PAPERS["maml-rl-ant-dir"]["maml"][1]
  (200, 499.2)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from adaptax.errors import ConfigError
from adaptax.experiments import config as cfg
from adaptax.experiments.config import param
from adaptax.experiments.seeds import SEEDS_HELP
from adaptax.parallel import AUTO_HOST_DEVICES

NAME = "maml-rl-nav2d"
METHODS = ("maml", "pretrained", "random", "oracle")
# task -> (robot, goal) of `adaptax.envs.locomotion.Locomotion`
LOCOMOTION = {"cheetah-vel": ("half_cheetah", "velocity"),
              "cheetah-dir": ("half_cheetah", "direction"),
              "ant-vel": ("ant", "velocity"), "ant-dir": ("ant", "direction")}
TASKS = ("nav2d", *LOCOMOTION)


def experiment_name(task: str) -> str:
    """``maml-rl-<task>``."""
    return f"maml-rl-{task}"

# Published numbers (REFERENCE.md "MAML — reinforcement learning"; App. C Table 4).
PAPER = {
    "source": "Finn et al. 2017, App. C Table 4 (2D navigation, 40 test goals)",
    "steps": [0, 1, 2, 3],
    "maml": [-40.4, -11.7, -3.3, -3.2],
    "pretrained": [-40.8, -19.7, -11.7, -8.5],
    "random": [-82.7, -58.0, -53.8, -46.8],
    "oracle": [-2.3],
}
_LOCOMOTION_SOURCE = ("Finn et al. 2017, Fig. 5 (rllab MuJoCo 1.31, 40 test tasks); the numbers "
                      "of the authors' result files")
PAPERS: dict[str, dict[str, Any]] = {
    NAME: PAPER,
    "maml-rl-cheetah-vel": {
        "source": _LOCOMOTION_SOURCE, "steps": [0, 1, 2, 3],
        "maml": [-129.5, -78.6, -66.6, -60.8], "pretrained": [-158.0, -135.4, -128.5, -133.6],
        "random": [-254.8, -254.3, -246.8, -230.8], "oracle": [-54.5]},
    "maml-rl-cheetah-dir": {
        "source": _LOCOMOTION_SOURCE, "steps": [0, 1, 2, 3],
        "maml": [-50.7, 293.2, 313.5, 315.7], "pretrained": [-43.0, -24.8, -12.9, 19.6],
        "random": [-35.7, 21.8, 62.3, 86.2], "oracle": [442.7]},
    "maml-rl-ant-vel": {
        "source": _LOCOMOTION_SOURCE, "steps": [0, 1, 2, 3],
        "maml": [30.6, 96.7, 100.1, 101.4], "pretrained": [-1.8, 6.1, 8.5, 9.5],
        "random": [-78.6, -62.8, -48.6, -35.6], "oracle": [107.9]},
    "maml-rl-ant-dir": {
        "source": _LOCOMOTION_SOURCE, "steps": [0, 1, 2, 3],
        "maml": [8.7, 499.2, 500.7, 499.1], "pretrained": [3.2, 1.3, 6.5, 6.9],
        "random": [3.1, 9.3, 16.0, 26.1], "oracle": [524.8]},
}

# config keys that change only the evaluation (`adaptax resume RUN --set KEY=VALUE`)
EVAL_KEYS = ("eval_tasks", "eval_trajs", "eval_steps", "validation_tasks", "finetune_lrs",
             "figure_goals")


@dataclasses.dataclass(frozen=True)
class Nav2DConfig:
    """Settings of the 2D-navigation experiment; the defaults are the ``default`` preset."""

    task: str = param("nav2d", "the environment", choices=("nav2d",))
    seed: int = param(0, "PRNG seed for initialisation, training tasks and sampling", min=0)
    seeds: int = param(1, SEEDS_HELP, min=1)
    iterations: int = param(40, "MAML meta-iterations (paper: up to 500)", min=1)
    baseline_iterations: int = param(
        40, "TRPO iterations of the pretrained and oracle policies (paper: as MAML)", min=1)
    meta_batch: int = param(20, "tasks per meta-iteration (paper: 20)", min=1)
    num_trajs: int = param(20, "trajectories per task per step in training (paper: 20)", min=2)
    horizon: int = param(100, "steps per trajectory (paper: 100)", min=1)
    inner_lr: float = param(0.1, "inner step size alpha (paper: 0.1; authors' code: 0.5)",
                            min=0, min_exclusive=True)
    train_inner_steps: int = param(
        1, "inner steps meta-trained through (paper: 1; lvc-3step: 3, every test step)",
        min=1, max=3)
    meta_objective: str = param(
        "last", "what meta-training scores: last (the return after the last trained inner step, "
        "the paper) or all (the mean of the returns after each of them)", choices=("last", "all"))
    inner_estimator: str = param(
        "reinforce", "inner loss the meta-gradient differentiates through: reinforce (the paper) "
        "or lvc (ProMP's low-variance curvature: same inner step, adds the score term to its "
        "Hessian)", choices=("reinforce", "lvc"))
    later_lr_factor: float = param(0.5, "step size of inner steps after the first, times alpha "
                                   "(authors' test code: 0.5)", min=0, min_exclusive=True)
    hidden: tuple[int, ...] = param((100, 100), "policy hidden widths (paper: 100, 100)", min=1)
    policy_init: str = param(
        "glorot_uniform", "policy weight initialisation: glorot_uniform (the authors' code) or "
        "lecun_normal (Flax's default)",
        choices=("glorot_uniform", "lecun_normal"))
    max_kl: float = param(0.01, "TRPO trust region: mean KL (paper: 0.01)", min=0,
                          min_exclusive=True)
    cg_iters: int = param(10, "conjugate-gradient iterations (rllab: 10)", min=1)
    damping: float = param(0.1, "Fisher damping (rllab: 1e-5)", min=0)
    fvp_subsample: float = param(
        0.25, "fraction of each task's trajectories in the Fisher-vector products (rllab's "
        "subsample_factor; 1 = all, the paper's code; 0.25 is ~3.5x faster)", min=0,
        min_exclusive=True, max=1)
    fvp_subsample_by: str = param(
        "trajectory", "how the Fisher subsample is drawn: trajectory (the first trajectories of "
        "each task, rllab) or time (every round(1/fvp_subsample)-th step of all of them)",
        choices=("trajectory", "time"))
    measured_step: bool = param(
        False, "TRPO step length from the true KL along the CG direction (one extra KL "
        "evaluation) instead of the subsampled Fisher's model, which overestimates the KL "
        "through several inner steps")
    hvp: str = param("gauss_newton", "Fisher-vector products: gauss_newton (exact at the old "
                     "policy, fastest), exact (third-order autodiff) or finite_difference "
                     "(the paper's code)", choices=("gauss_newton", "exact", "finite_difference"))
    methods: tuple[str, ...] = param(METHODS, "methods to train and evaluate", choices=METHODS,
                                     unique=True)
    eval_tasks: int = param(400, "test goals, from the test split (paper: 40)", min=2)
    eval_trajs: int = param(40, "trajectories per adaptation step at test (paper: 40)", min=2)
    eval_steps: int = param(3, "policy-gradient steps at test (paper: 3)", min=1, max=10)
    finetune_lrs: tuple[float, ...] = param(
        (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
        "grid of first fine-tuning step sizes for pretrained and random init (later steps "
        "times later_lr_factor), chosen on held-out goals", min=0,
        min_exclusive=True)
    validation_tasks: int = param(40, "goals of the validation split on which the fine-tuning "
                                  "step size is chosen", min=2)
    figure_goals: int = param(3, "goals drawn in the trajectory figure", min=1, max=8)
    chunk: int = param(10, "iterations per compiled dispatch, checkpoint and log line", min=1)
    devices: int = param(
        0, "data-parallel devices in training: each samples meta_batch/devices tasks, with the "
        "same numbers as one device; `adaptax run` splits a CPU into that many host devices; "
        f"0 = auto: {AUTO_HOST_DEVICES} per process on a CPU, every accelerator otherwise, the "
        "most that divide meta_batch (`devices_of`)",
        min=0)

    def __post_init__(self) -> None:
        cfg.validate(self)
        if "maml" not in self.methods:
            raise ConfigError("methods must include 'maml'")
        if self.devices and self.meta_batch % self.devices:
            raise ConfigError(f"meta_batch ({self.meta_batch}) must be a multiple of devices "
                              f"({self.devices})")

    @property
    def host_devices(self) -> int:
        """Host devices `adaptax run` asks XLA for on a CPU before JAX starts."""
        return self.devices or AUTO_HOST_DEVICES


@dataclasses.dataclass(frozen=True)
class LocomotionConfig(Nav2DConfig):
    """Settings of the MuJoCo locomotion experiments (the paper's sizes unless said otherwise).

    The environments run on native MuJoCo in this process (`adaptax.rl.mujoco_sampler`), so
    training uses one device, and several seeds train one after another."""

    task: str = param("cheetah-vel", "the environment: cheetah-vel, cheetah-dir, ant-vel or "
                      "ant-dir", choices=tuple(LOCOMOTION))
    iterations: int = param(100, "MAML meta-iterations (paper: up to 500)", min=1)
    baseline_iterations: int = param(
        100, "TRPO iterations of the pretrained and oracle policies (paper: 1000 cheetah, "
        "2000 ant, at 20,000 samples each)", min=1)
    meta_batch: int = param(40, "tasks per meta-iteration (paper: 40)", min=1)
    horizon: int = param(200, "steps per trajectory (paper: 200)", min=1)
    eval_tasks: int = param(40, "test tasks, from the test split (paper: 40)", min=2)
    eval_trajs: int = param(20, "trajectories per adaptation step at test (paper: 20; ant "
                            "direction 40)", min=2)
    finetune_lrs: tuple[float, ...] = param(
        (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
        "grid of first fine-tuning step sizes for pretrained and random init (later steps "
        "times later_lr_factor), chosen on held-out tasks", min=0, min_exclusive=True)
    validation_tasks: int = param(20, "tasks of the validation split on which the fine-tuning "
                                  "step size is chosen", min=2)
    threads: int = param(0, "threads that step the MuJoCo environments (0: one per core)",
                         min=0)
    devices: int = param(1, "devices (MuJoCo runs in this process on the CPU: 1)", min=0,
                         max=1)

    @property
    def host_devices(self) -> int:
        return 1


# The paper's method and budget (REFERENCE.md "MAML — reinforcement learning"): one trained inner
# REINFORCE step at α = 0.1, meta-batch 20 × 20 trajectories, TRPO δ = 0.01 with rllab's damping
# 1e-5 and Fisher products on all the data, 500 iterations.
_PAPER = {"iterations": 500, "baseline_iterations": 500, "chunk": 25, "damping": 1e-5,
          "fvp_subsample": 1.0}
PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"iterations": 2, "baseline_iterations": 2, "meta_batch": 2, "num_trajs": 4,
              "horizon": 20, "hidden": (16, 16), "cg_iters": 3, "eval_tasks": 4,
              "eval_trajs": 4, "figure_goals": 2, "chunk": 1, "finetune_lrs": (0.1, 0.5),
              "validation_tasks": 4},
    # a few CPU minutes: 60 iterations of each phase, 10 trajectories per task
    "default": {"iterations": 60, "baseline_iterations": 60, "num_trajs": 10},
    "paper": _PAPER,
    # The authors' released navigation script and test script (cbfinn/maml_rl
    # maml_examples/maml_trpo_point.py, test_maml_point.py): fast learning rate 0.5, 100
    # iterations, every method fine-tuned at 0.5 then 0.25 with 40 trajectories per step.
    "paper-code": {**_PAPER, "iterations": 100, "baseline_iterations": 100, "chunk": 10,
                   "inner_lr": 0.5, "finetune_lrs": (0.5,)},
    # Ours, beyond the paper: meta-trained through all three test steps on the mean of their
    # returns, ProMP's LVC inner loss, Fisher products on every 4th time step (damping 0.1).
    "lvc-3step": {"iterations": 500, "baseline_iterations": 500, "chunk": 25,
                  "train_inner_steps": 3, "meta_objective": "all", "fvp_subsample_by": "time",
                  "inner_estimator": "lvc"},
}


def locomotion_presets(task: str) -> dict[str, dict[str, Any]]:
    """The presets of ``maml-rl-<task>`` for a locomotion task."""
    trajs = 40 if task == "ant-dir" else 20  # the paper's ant direction runs: 40 per task
    return {
        "smoke": {"task": task, "iterations": 2, "baseline_iterations": 2, "meta_batch": 2,
                  "num_trajs": 2, "horizon": 10, "hidden": (16, 16), "cg_iters": 3,
                  "eval_tasks": 2, "eval_trajs": 2, "chunk": 1, "finetune_lrs": (0.1, 0.5),
                  "validation_tasks": 2},
        # tens of CPU minutes: half the paper's meta-batch, 10 trajectories per task
        "default": {"task": task, "meta_batch": 20, "num_trajs": 10, "chunk": 10},
        # the paper: 40 tasks × 20 trajectories (ant direction 40), TRPO on all the data with
        # rllab's damping, 500 iterations for every method
        "paper": {"task": task, "iterations": 500, "baseline_iterations": 500, "chunk": 25,
                  "num_trajs": trajs, "eval_trajs": trajs, "damping": 1e-5,
                  "fvp_subsample": 1.0},
    }
