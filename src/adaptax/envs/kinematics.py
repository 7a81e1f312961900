"""Forward kinematics of a MuJoCo body tree for a batch of states: the centre of mass and its
velocity.

For models whose joints are all hinges and slides (the half-cheetah), the whole robot's centre of
mass is a function of qpos alone, and since then dqpos/dt = qvel its velocity is the derivative
of that function along qvel. Computing both from the states that `mujoco.rollout` returns lets
a sampler step every environment in MuJoCo's own threads (no Python per environment) and still
observe what rllab read after each step (``subtree_com`` and ``subtree_linvel`` of the root).
Bodies follow MuJoCo's ``mj_kinematics``:

    x_b = x_parent + R_parent p_b,   R_b = R_parent Q_b
    slide j of b:  x_b += R_b a_j (q_j − q0_j)
    hinge j of b:  anchor = x_b + R_b c_j;  R_b = R_b rot(a_j, q_j − q0_j);  x_b = anchor − R_b c_j
    centre of mass = Σ_b m_b (x_b + R_b i_b) / Σ_b m_b

Example:
  >>> from adaptax.envs.locomotion import Locomotion
  >>> model = Locomotion("half_cheetah").model
  >>> com, velocity = CentreOfMass(model)(model.qpos0[None], np.zeros((1, model.nv)))
  >>> com.shape, float(abs(velocity).max())
  ((1, 3), 0.0)
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from adaptax.types import Array

__all__ = ["CentreOfMass"]

_SLIDE, _HINGE = 2, 3  # mjtJoint


def _quat_to_mat(q: np.ndarray) -> np.ndarray:
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def _cross_matrix(a: np.ndarray) -> np.ndarray:
    return np.array([[0.0, -a[2], a[1]], [a[2], 0.0, -a[0]], [-a[1], a[0], 0.0]])


def _mv(r: list, v: Any) -> list:
    """r v for a 3×3 matrix and a 3-vector held as nested lists of per-state arrays (or
    numbers): elementwise operations that XLA fuses into one loop over the batch."""
    return [r[i][0] * v[0] + r[i][1] * v[1] + r[i][2] * v[2] for i in range(3)]


def _mm(a: list, b: list) -> list:
    return [[a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j] for j in range(3)]
            for i in range(3)]


def _add(a: list, b: list) -> list:
    return [x + y for x, y in zip(a, b, strict=True)]


def _scale(a: list, c: Any) -> list:
    return [x * c for x in a]


class CentreOfMass:
    """``(qpos [N, nq], qvel [N, nv]) -> (centre of mass [N, 3], its velocity [N, 3])`` of every
    body but the world, for a model of hinge and slide joints (float32).

    The body tree is unrolled into elementwise operations on [N] arrays, which XLA fuses into a
    single loop (3×3 products batched as matrices run as hundreds of tiny kernels on a CPU);
    the velocity is the forward-mode derivative (`jax.jvp`) along qvel.

    Raises:
      ValueError: a joint that is neither a hinge nor a slide (a free or ball joint's qpos is a
        quaternion, whose derivative is not qvel).
    """

    def __init__(self, model: Any) -> None:
        types = np.asarray(model.jnt_type)
        if not np.all((types == _SLIDE) | (types == _HINGE)):
            raise ValueError("CentreOfMass needs a model of hinge and slide joints only")
        parent = np.asarray(model.body_parentid)
        pos = np.asarray(model.body_pos, np.float64).tolist()
        rot = [_quat_to_mat(q).tolist() for q in np.asarray(model.body_quat, np.float64)]
        ipos = np.asarray(model.body_ipos, np.float64).tolist()
        mass = np.asarray(model.body_mass, np.float64)
        joints = [[j for j in range(model.njnt) if model.jnt_bodyid[j] == b]
                  for b in range(model.nbody)]
        jpos = np.asarray(model.jnt_pos, np.float64).tolist()
        axis = np.asarray(model.jnt_axis, np.float64)
        cross = [_cross_matrix(a) for a in axis]
        squared = [(k @ k).tolist() for k in cross]
        qadr, qpos0 = np.asarray(model.jnt_qposadr), np.asarray(model.qpos0, np.float64)
        total = float(mass[1:].sum())
        eye = np.eye(3).tolist()

        def com(qpos: Array) -> Array:  # qpos: [nq, N]
            xpos, xmat = [[0.0, 0.0, 0.0]], [eye]
            weighted = [0.0, 0.0, 0.0]
            for b in range(1, model.nbody):  # parents come before their children
                x = _add(xpos[parent[b]], _mv(xmat[parent[b]], pos[b]))
                r = _mm(xmat[parent[b]], rot[b])
                for j in joints[b]:
                    q = qpos[qadr[j]] - qpos0[qadr[j]]
                    if types[j] == _SLIDE:
                        x = _add(x, _scale(_mv(r, axis[j].tolist()), q))
                        continue
                    s, c = jnp.sin(q), 1.0 - jnp.cos(q)
                    turn = [[eye[i][k] + s * cross[j][i][k] + c * squared[j][i][k]
                             for k in range(3)] for i in range(3)]
                    anchor = _add(x, _mv(r, jpos[j]))
                    r = _mm(r, turn)
                    x = _add(anchor, _scale(_mv(r, jpos[j]), -1.0))
                xpos.append(x)
                xmat.append(r)
                weighted = _add(weighted, _scale(_add(x, _mv(r, ipos[b])), float(mass[b])))
            return jnp.stack([w / total for w in weighted], axis=1)

        vadr = np.asarray(model.jnt_dofadr)
        if not np.array_equal(qadr, vadr):
            raise ValueError("CentreOfMass needs qpos and qvel to share their layout")

        def both(qpos: Array, qvel: Array) -> tuple[Array, Array]:
            return jax.jvp(com, (qpos.T,), (qvel.T,))

        self._fn = jax.jit(both)

    def __call__(self, qpos: np.ndarray, qvel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        position, velocity = self._fn(np.asarray(qpos, np.float32), np.asarray(qvel, np.float32))
        return np.asarray(position, np.float64), np.asarray(velocity, np.float64)
