"""MAML's locomotion tasks on native MuJoCo: half-cheetah and ant, goal velocity and direction.

The models, observations and rewards follow rllab as the MAML code used it (cbfinn/maml_rl,
``rllab/envs/mujoco/*_rand*.py``), rebuilt on the official ``mujoco`` bindings from the models
that ship with Gymnasium, edited at load time (`mujoco.MjSpec`):

=================  ==========================================  =================================
                   half-cheetah                                 ant
=================  ==========================================  =================================
physics step       0.01 s, Euler, one step per action           0.02 s, RK4, one step per action
observation        qpos[1:], qvel, whole-body centre of mass    qpos, qvel, clip(cfrc_ext, ±1),
                   (20)                                         torso rotation, centre of mass
                                                                (125)
action             6 torques in [−1, 1] (clipped)               8 torques in [−1, 1] (clipped),
                                                                gear 150
reward, velocity   −|v − g| − 0.05 Σa²                          −|v − g| + 1 − 0.005 Σa²
                                                                − 5e-4 Σ clip(cfrc_ext)² + 0.05
reward, direction  g·v − 0.05 Σa²                               g·v − 0.005 Σa² − 5e-4 Σ …² + 0.05
goal g             velocity ~ U[0, 2]; direction ±1             velocity ~ U[0, 3]; direction ±1
episode end        never (horizon)                              torso height outside [0.2, 1.0]
                                                                or a non-finite state
=================  ==========================================  =================================

v is the x velocity of the robot's centre of mass after the step (rllab's ``get_body_comvel``:
MuJoCo's ``subtree_linvel`` of the torso). A reset draws qpos = qpos₀ + 0.01·N(0, 1) and
qvel = 0.1·N(0, 1) around rllab's initial pose (the ant's ``init_qpos``: torso at 0.55, ankles
at ±1 rad). The oracle variant appends the goal to the observation.

Differences from rllab that remain (documented in docs/maml-rl-locomotion.md): MuJoCo 3.x/4.x
instead of 1.31 (its contact solver differs, so trajectories do not match step for step);
Gymnasium's ant expresses rllab's ±150 control range as range ±1 with gear 150 (the same torque);
its geoms get rllab's contact parameters (solref 0.02 1, solimp 0.8 0.8 0.01) at load.

These environments run on the host (NumPy and MuJoCo, not JAX): `adaptax.rl.mujoco_sampler`
steps many of them in lockstep on a pool of threads. `sample_task` is JAX, so tasks come from
the same seeded splits as every other environment (`adaptax.envs.instances`).

Example:
  >>> env = Locomotion("half_cheetah", "velocity")
  >>> env.obs_dim, env.action_dim
  (20, 6)
"""

from __future__ import annotations

import dataclasses
import functools
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from adaptax._checks import require_choice, require_int
from adaptax.errors import ConfigError
from adaptax.types import Array, PRNGKey

__all__ = ["GOALS", "ROBOTS", "Locomotion", "LocomotionTask", "load_mujoco"]

ROBOTS = ("half_cheetah", "ant")
GOALS = ("velocity", "direction")

# rllab's reward weights and task ranges (cbfinn/maml_rl rllab/envs/mujoco/*_env_rand*.py)
_CTRL_COST = {"half_cheetah": 0.05, "ant": 0.005}
_CONTACT_COST = 5e-4
_ANT_SURVIVE = 0.05
_ANT_VELOCITY_BONUS = 1.0
_VELOCITY_RANGE = {"half_cheetah": (0.0, 2.0), "ant": (0.0, 3.0)}
_ANT_HEIGHT = (0.2, 1.0)
_QPOS_NOISE, _QVEL_NOISE = 0.01, 0.1


def load_mujoco():
    """The ``mujoco`` module, or one line that says how to install it."""
    try:
        import mujoco
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ConfigError("MuJoCo tasks need the mujoco extra: pip install 'adaptax[mujoco]'"
                          ) from err
    return mujoco


def _asset(name: str) -> str:
    try:
        import gymnasium
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ConfigError("MuJoCo tasks load their models from Gymnasium: "
                          "pip install 'adaptax[mujoco]'") from err
    path = os.path.join(os.path.dirname(gymnasium.__file__), "envs", "mujoco", "assets", name)
    if not os.path.exists(path):
        raise ConfigError(f"Gymnasium's model {name} is missing at {path}: reinstall gymnasium")
    return path


def _add_sensor(mujoco, spec, kind, body: str) -> None:
    sensor = spec.add_sensor()
    sensor.type = kind
    sensor.objtype = mujoco.mjtObj.mjOBJ_BODY
    sensor.objname = body


@functools.cache
def _model(robot: str):
    """The compiled MjModel of ``robot`` with rllab's options, plus the torso's centre-of-mass
    position and velocity as sensors (read after every step)."""
    mujoco = load_mujoco()
    spec = mujoco.MjSpec.from_file(_asset(f"{robot}.xml"))
    if robot == "ant":
        spec.option.timestep = 0.02
        spec.option.integrator = mujoco.mjtIntegrator.mjINT_RK4
        for geom in spec.geoms:
            geom.solref = [0.02, 1.0]
            geom.solimp = [0.8, 0.8, 0.01, 0.5, 2.0]
    else:
        spec.option.timestep = 0.01
        spec.option.integrator = mujoco.mjtIntegrator.mjINT_EULER
    _add_sensor(mujoco, spec, mujoco.mjtSensor.mjSENS_SUBTREECOM, "torso")
    _add_sensor(mujoco, spec, mujoco.mjtSensor.mjSENS_SUBTREELINVEL, "torso")
    with warnings.catch_warnings():  # half_cheetah.xml's settotalmass is deprecated, still valid
        warnings.simplefilter("ignore")
        return spec.compile()


class LocomotionTask(NamedTuple):
    """A task: the goal velocity (m/s) or direction (±1)."""

    goal: Array


@dataclasses.dataclass(frozen=True)
class Locomotion:
    """A MuJoCo locomotion task family (see the module docstring).

    Attributes:
      robot: ``"half_cheetah"`` or ``"ant"``.
      goal: ``"velocity"`` (a target forward velocity) or ``"direction"`` (forward or backward).
      horizon: steps per episode (paper: 200).
      oracle: append the goal to the observation.
    """

    robot: str = "half_cheetah"
    goal: str = "velocity"
    horizon: int = 200
    oracle: bool = False

    def __post_init__(self) -> None:
        require_choice("robot", self.robot, ROBOTS)
        require_choice("goal", self.goal, GOALS)
        require_int("horizon", self.horizon, minimum=1)

    @property
    def name(self) -> str:
        return f"{self.robot}-{self.goal}{'-oracle' if self.oracle else ''}"

    @property
    def model(self):
        return _model(self.robot)

    @property
    def action_dim(self) -> int:
        return int(self.model.nu)

    @property
    def raw_dim(self) -> int:
        """Numbers read from one MjData per step (`read`)."""
        m = self.model
        extra = 6 * m.nbody + 9 if self.robot == "ant" else 0
        return m.nq + m.nv + extra + 6

    @property
    def obs_dim(self) -> int:
        m = self.model
        if self.robot == "half_cheetah":  # qpos[1:], qvel, centre of mass
            return m.nq - 1 + m.nv + 3 + int(self.oracle)
        # qpos, qvel, contact forces, torso rotation, centre of mass
        return m.nq + m.nv + 6 * m.nbody + 12 + int(self.oracle)

    def sample_task(self, key: PRNGKey) -> LocomotionTask:
        """A goal: velocity ~ U[0, 2] (cheetah) or U[0, 3] (ant); direction −1 or +1 (½ each)."""
        if self.goal == "velocity":
            low, high = _VELOCITY_RANGE[self.robot]
            return LocomotionTask(jax.random.uniform(key, (), jnp.float32, low, high))
        return LocomotionTask(jnp.where(jax.random.bernoulli(key), 1.0, -1.0))

    # ---- host-side physics ---------------------------------------------------------------

    def init_qpos(self) -> np.ndarray:
        """rllab's initial pose: the model's ``init_qpos`` numeric when it has one (the ant)."""
        m = self.model
        mujoco = load_mujoco()
        index = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_NUMERIC, "init_qpos")
        if index >= 0 and m.numeric_size[index] == m.nq:
            start = m.numeric_adr[index]
            return np.array(m.numeric_data[start:start + m.nq])
        return np.array(m.qpos0)

    def batch(self, n: int, threads: int, kind: str = "auto") -> Any:
        """n environments stepped together on ``threads`` threads (`step` and `reset` fill a
        ``[n, raw_dim]`` array).

        ``kind``: ``"rollout"`` steps them in `mujoco.rollout`'s own threads and computes the
        centre of mass and its velocity from the new states (`adaptax.envs.kinematics`;
        no Python per environment; models of hinges and slides, i.e. the half-cheetah);
        ``"threads"`` steps one MjData per environment from a pool of Python threads (any
        model; the ant, whose contact forces come from mj_rnePostConstraint); ``"auto"``: the
        first that applies.
        """
        require_choice("kind", kind, ("auto", "rollout", "threads"))
        if kind == "rollout" or (kind == "auto" and self.robot == "half_cheetah"):
            return _RolloutBatch(self, n, threads)
        return _ThreadedBatch(self, n, threads)

    def read(self, data: Any, raw: np.ndarray) -> None:
        """Copies what the observation and reward need from one MjData: qpos, qvel, (ant:
        cfrc_ext and the torso's rotation), the centre of mass and its velocity."""
        m = self.model
        nq, nv = m.nq, m.nv
        raw[:nq] = data.qpos
        raw[nq:nq + nv] = data.qvel
        end = nq + nv
        if self.robot == "ant":
            raw[end:end + 6 * m.nbody] = data.cfrc_ext.ravel()
            end += 6 * m.nbody
            raw[end:end + 9] = data.xmat[1]
            end += 9
        raw[end:end + 6] = data.sensordata[:6]

    def initial_states(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """n reset states around the initial pose: qpos = qpos₀ + 0.01·N(0, 1), qvel = 0.1·N(0, 1)
        (rllab's ``reset_mujoco``)."""
        m = self.model
        qpos = self.init_qpos() + _QPOS_NOISE * rng.standard_normal((n, m.nq))
        return qpos, _QVEL_NOISE * rng.standard_normal((n, m.nv))

    def observe(self, raw: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """Observations of a batch (``raw`` [N, raw_dim], ``goal`` [N])."""
        m = self.model
        if self.robot == "half_cheetah":
            obs = np.concatenate([raw[:, 1:m.nq + m.nv], raw[:, -6:-3]], axis=1)
        else:
            cfrc = slice(m.nq + m.nv, m.nq + m.nv + 6 * m.nbody)
            obs = np.concatenate([raw[:, :m.nq + m.nv], np.clip(raw[:, cfrc], -1.0, 1.0),
                                  raw[:, cfrc.stop:cfrc.stop + 12]], axis=1)
        if self.oracle:
            obs = np.concatenate([obs, goal[:, None]], axis=1)
        return obs

    def reward_done(self, raw: np.ndarray, ctrl: np.ndarray, goal: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Rewards and episode ends of a batch after a step (``ctrl``: the clipped actions)."""
        velocity = raw[:, -3]
        forward = -np.abs(velocity - goal) if self.goal == "velocity" else goal * velocity
        cost = _CTRL_COST[self.robot] * np.sum(np.square(ctrl), axis=1)
        finite = np.all(np.isfinite(raw), axis=1)
        if self.robot == "half_cheetah":
            return forward - cost, ~finite
        m = self.model
        cfrc = np.clip(raw[:, m.nq + m.nv:m.nq + m.nv + 6 * m.nbody], -1.0, 1.0)
        contact = _CONTACT_COST * np.sum(np.square(cfrc), axis=1)
        bonus = _ANT_VELOCITY_BONUS if self.goal == "velocity" else 0.0
        height = raw[:, 2]
        done = ~finite | (height < _ANT_HEIGHT[0]) | (height > _ANT_HEIGHT[1])
        return forward + bonus - cost - contact + _ANT_SURVIVE, done


class _ThreadedBatch:
    """One MjData per environment, stepped by a pool of Python threads (MuJoCo releases the GIL
    while it steps)."""

    def __init__(self, env: Locomotion, n: int, threads: int) -> None:
        mujoco = load_mujoco()
        self.env, self.n = env, n
        self.datas = [mujoco.MjData(env.model) for _ in range(n)]
        self.raw = np.zeros((n, env.raw_dim))
        self.bounds = np.linspace(0, n, min(threads, n) + 1).astype(int)
        self.pool = ThreadPoolExecutor(len(self.bounds) - 1) if len(self.bounds) > 2 else None

    def reset(self, rng: np.random.Generator) -> np.ndarray:
        mujoco = load_mujoco()
        m, env = self.env.model, self.env
        qpos, qvel = env.initial_states(rng, self.n)
        for i, d in enumerate(self.datas):
            mujoco.mj_resetData(m, d)
            d.qpos[:], d.qvel[:] = qpos[i], qvel[i]
            mujoco.mj_forward(m, d)
            if env.robot == "ant":
                mujoco.mj_rnePostConstraint(m, d)
            env.read(d, self.raw[i])
        return self.raw

    def step(self, ctrl: np.ndarray, alive: np.ndarray) -> np.ndarray:
        work = functools.partial(self._step_range, ctrl, alive)
        if self.pool is None:
            work(0, self.n)
        else:
            list(self.pool.map(lambda r: work(*r), zip(self.bounds[:-1], self.bounds[1:],
                                                       strict=True)))
        return self.raw

    def _step_range(self, ctrl: np.ndarray, alive: np.ndarray, lo: int, hi: int) -> None:
        """Environments lo … hi−1 that are alive: one thread's share. The Euler model steps as
        mj_step2 then mj_step1 (mj_step's physics, leaving the new state's positions and
        velocities computed, which rllab's extra mj_forward provided); RK4 steps, then runs
        mj_forward and mj_rnePostConstraint for the contact forces MuJoCo 1.31 filled."""
        mujoco = load_mujoco()
        m, env, datas, raw = self.env.model, self.env, self.datas, self.raw
        euler = m.opt.integrator == mujoco.mjtIntegrator.mjINT_EULER
        for i in range(lo, hi):
            if not alive[i]:
                continue
            d = datas[i]
            d.ctrl[:] = ctrl[i]
            if euler:
                mujoco.mj_step2(m, d)
                mujoco.mj_step1(m, d)
            else:
                mujoco.mj_step(m, d)
                mujoco.mj_forward(m, d)
                mujoco.mj_rnePostConstraint(m, d)
            env.read(d, raw[i])


class _RolloutBatch:
    """The environments' states as one array, stepped by `mujoco.rollout` in its own threads;
    the centre of mass and its velocity of the new states from `kinematics`."""

    def __init__(self, env: Locomotion, n: int, threads: int) -> None:
        mujoco = load_mujoco()
        from mujoco import rollout

        from adaptax.envs.kinematics import CentreOfMass

        m = env.model
        self.env, self.n = env, n
        self.spec = mujoco.mjtState.mjSTATE_FULLPHYSICS.value
        size = mujoco.mj_stateSize(m, self.spec)
        template = mujoco.MjData(m)
        self.state = np.zeros((n, size))
        mujoco.mj_getState(m, template, self.state[0], self.spec)
        self.state[:] = self.state[0]
        self.next = np.zeros((n, 1, size))
        self.runner = rollout.Rollout(nthread=threads if threads > 1 else 0)
        self.datas = [mujoco.MjData(m) for _ in range(max(threads, 1))]
        self.com = CentreOfMass(m)

    def _raw(self) -> np.ndarray:
        m = self.env.model  # FULLPHYSICS states are [time, qpos, qvel, …]
        qpos, qvel = self.state[:, 1:1 + m.nq], self.state[:, 1 + m.nq:1 + m.nq + m.nv]
        return np.concatenate([qpos, qvel, *self.com(qpos, qvel)], axis=1)

    def reset(self, rng: np.random.Generator) -> np.ndarray:
        m = self.env.model
        qpos, qvel = self.env.initial_states(rng, self.n)
        self.state[:, 0] = 0.0
        self.state[:, 1:1 + m.nq] = qpos
        self.state[:, 1 + m.nq:1 + m.nq + m.nv] = qvel
        return self._raw()

    def step(self, ctrl: np.ndarray, alive: np.ndarray) -> np.ndarray:
        self.runner.rollout(self.env.model, self.datas, self.state, ctrl[:, None, :], nstep=1,
                            state=self.next)
        self.state = np.where(alive[:, None], self.next[:, 0], self.state)
        return self._raw()
