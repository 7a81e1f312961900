"""MuJoCo locomotion: rllab's observations, rewards, terminations and tasks on native MuJoCo."""

import jax
import numpy as np
import pytest

mujoco = pytest.importorskip("mujoco", reason="the mujoco extra (make test installs it)")

from adaptax.envs.locomotion import Locomotion  # noqa: E402


def _state(env, seed):
    batch = env.batch(1, 1, "threads")
    batch.reset(np.random.default_rng(seed))
    return env.model, batch


@pytest.mark.parametrize("robot", ["half_cheetah", "ant"])
def test_a_step_reads_the_post_step_state_as_rllab_did(robot):
    # rllab: mj_step, then mj_forward (MuJoCo 1.31 also filled cfrc_ext), then read the whole
    # robot's centre of mass and its velocity. Our step must give the same numbers.
    env = Locomotion(robot, "velocity")
    m, batch = _state(env, 0)
    ref = mujoco.MjData(m)
    mujoco.mj_setState(m, ref, _full(m, batch.datas[0]), mujoco.mjtState.mjSTATE_INTEGRATION)
    mujoco.mj_forward(m, ref)
    ctrl = np.random.default_rng(1).uniform(-1, 1, (1, env.action_dim))
    for _ in range(30):  # long enough for the ant's feet to land
        raw = batch.step(ctrl, np.ones(1, bool))
        ref.ctrl[:] = ctrl[0]
        mujoco.mj_step(m, ref)
        mujoco.mj_forward(m, ref)
        mujoco.mj_rnePostConstraint(m, ref)
        mujoco.mj_subtreeVel(m, ref)
    torso = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "torso")
    np.testing.assert_allclose(raw[0, :m.nq], ref.qpos, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(raw[0, -6:-3], ref.subtree_com[torso], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(raw[0, -3:], ref.subtree_linvel[torso], rtol=1e-9, atol=1e-12)
    obs = env.observe(raw, np.zeros(1))[0]
    if robot == "half_cheetah":
        want = np.concatenate([ref.qpos[1:], ref.qvel, ref.subtree_com[torso]])
    else:
        assert np.abs(ref.cfrc_ext).max() > 0  # the feet touch the floor: contact forces
        want = np.concatenate([ref.qpos, ref.qvel, np.clip(ref.cfrc_ext.ravel(), -1, 1),
                               ref.xmat[torso], ref.subtree_com[torso]])
    assert obs.shape == (env.obs_dim,) == want.shape
    np.testing.assert_allclose(obs, want, rtol=1e-9, atol=1e-12)


def _full(m, data):
    state = np.zeros(mujoco.mj_stateSize(m, mujoco.mjtState.mjSTATE_INTEGRATION))
    mujoco.mj_getState(m, data, state, mujoco.mjtState.mjSTATE_INTEGRATION)
    return state


def test_models_carry_rllabs_options():
    cheetah, ant = Locomotion("half_cheetah").model, Locomotion("ant").model
    assert cheetah.opt.timestep == 0.01 and ant.opt.timestep == 0.02
    assert ant.opt.integrator == mujoco.mjtIntegrator.mjINT_RK4
    np.testing.assert_allclose(ant.geom_solimp[:, :3], np.tile([0.8, 0.8, 0.01], (ant.ngeom, 1)))
    # rllab's ant starts at height 0.55 with its ankles bent ±1 rad
    pose = Locomotion("ant").init_qpos()
    np.testing.assert_allclose(pose[2], 0.55)
    np.testing.assert_allclose(pose[7:], [0, 1, 0, -1, 0, -1, 0, 1])
    assert Locomotion("half_cheetah").obs_dim == 20 and Locomotion("ant").obs_dim == 125
    assert Locomotion("ant", oracle=True).obs_dim == 126


def test_rewards_follow_rllab():
    rng = np.random.default_rng(0)
    ctrl = rng.uniform(-1, 1, (4, 6))
    goal = np.array([0.0, 0.5, 1.0, 2.0])
    cheetah = Locomotion("half_cheetah", "velocity")
    raw = rng.normal(size=(4, cheetah.raw_dim))
    reward, done = cheetah.reward_done(raw, ctrl, goal)
    v = raw[:, -3]
    np.testing.assert_allclose(reward, -np.abs(v - goal) - 0.05 * (ctrl**2).sum(1))
    assert not done.any()
    sign = np.array([1.0, -1.0, 1.0, -1.0])
    reward, _ = Locomotion("half_cheetah", "direction").reward_done(raw, ctrl, sign)
    np.testing.assert_allclose(reward, sign * v - 0.05 * (ctrl**2).sum(1))
    ant = Locomotion("ant", "velocity")
    ctrl = rng.uniform(-1, 1, (4, 8))
    raw = rng.normal(size=(4, ant.raw_dim)) * 3
    raw[:, 2] = [0.1, 0.5, 0.9, 1.1]  # torso heights: only the middle two stay alive
    m = ant.model
    contact = np.clip(raw[:, m.nq + m.nv:m.nq + m.nv + 6 * m.nbody], -1, 1)
    reward, done = ant.reward_done(raw, ctrl, goal)
    want = (-np.abs(raw[:, -3] - goal) + 1.0 - 0.005 * (ctrl**2).sum(1)
            - 5e-4 * (contact**2).sum(1) + 0.05)
    np.testing.assert_allclose(reward, want)
    np.testing.assert_array_equal(done, [True, False, False, True])
    raw[1, 5] = np.nan
    assert Locomotion("ant", "direction").reward_done(raw, ctrl, sign)[1][1]


def test_tasks_are_drawn_as_the_paper():
    keys = jax.random.split(jax.random.PRNGKey(0), 2000)
    for robot, high in (("half_cheetah", 2.0), ("ant", 3.0)):
        goals = np.asarray(jax.vmap(Locomotion(robot, "velocity").sample_task)(keys).goal)
        assert goals.min() >= 0.0 and goals.max() <= high and goals.max() > 0.95 * high
        signs = np.asarray(jax.vmap(Locomotion(robot, "direction").sample_task)(keys).goal)
        assert set(np.unique(signs)) == {-1.0, 1.0} and abs(signs.mean()) < 0.1


def test_bad_settings_name_the_choices():
    with pytest.raises(ValueError, match="robot"):
        Locomotion("humanoid")
    with pytest.raises(ValueError, match="goal"):
        Locomotion("ant", "position")


def test_rollout_stepping_matches_stepping_each_mjdata():
    # the half-cheetah's fast path: MuJoCo's rollout threads step the states, JAX computes the
    # centre of mass and its velocity; the same numbers as MjData stepped and read one by one
    # (the solver starts cold each step: contact forces agree to its tolerance)
    env = Locomotion("half_cheetah", "velocity")
    fast, slow = env.batch(6, 2, "rollout"), env.batch(6, 2, "threads")
    raws = [b.reset(np.random.default_rng(3)) for b in (fast, slow)]
    np.testing.assert_allclose(raws[0], raws[1], rtol=1e-5, atol=1e-5)
    start = raws[0].copy()
    rng = np.random.default_rng(4)
    alive = np.ones(6, bool)
    alive[5] = False  # an ended episode is no longer stepped
    for _ in range(40):
        ctrl = rng.uniform(-1, 1, (6, 6))
        raws = [b.step(ctrl, alive) for b in (fast, slow)]
    np.testing.assert_allclose(raws[0], raws[1], rtol=1e-3, atol=1e-3)
    assert np.abs(raws[0][:5, 0]).max() > 0.01  # the cheetahs moved…
    np.testing.assert_array_equal(raws[0][5], start[5])  # …and the frozen one did not


def test_centre_of_mass_and_its_velocity_match_mujoco():
    from adaptax.envs.kinematics import CentreOfMass

    m = Locomotion("half_cheetah").model
    rng = np.random.default_rng(0)
    qpos, qvel = rng.normal(size=(6, m.nq)), rng.normal(size=(6, m.nv))
    com, velocity = CentreOfMass(m)(qpos, qvel)
    data = mujoco.MjData(m)
    for i in range(6):
        data.qpos[:], data.qvel[:] = qpos[i], qvel[i]
        mujoco.mj_forward(m, data)
        mujoco.mj_subtreeVel(m, data)
        np.testing.assert_allclose(com[i], data.subtree_com[1], atol=1e-5)
        np.testing.assert_allclose(velocity[i], data.subtree_linvel[1], atol=1e-5)
    with pytest.raises(ValueError, match="hinge and slide"):
        CentreOfMass(Locomotion("ant").model)  # a free joint
