"""Tests for adaptax.rl.trpo: CG, Fisher-vector products, line search and the TRPO step."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from adaptax.rl.losses import categorical_kl, categorical_log_prob, importance_surrogate
from adaptax.rl.trpo import (
    backtracking_line_search,
    conjugate_gradient,
    finite_difference_hvp,
    fisher_vector_product,
    trpo_step,
)

# ---------------------------------------------------------------- conjugate gradient


def random_spd(n: int, seed: int) -> np.ndarray:
    m = np.random.default_rng(seed).normal(size=(n, n))
    return (m @ m.T / n + 0.5 * np.eye(n)).astype(np.float32)


def slow_cg(A, b, iters):
    """Textbook CG in float64 with a Python loop and no early exit."""
    x = np.zeros_like(b)
    r = b.copy()
    p = b.copy()
    rdotr = r @ r
    for _ in range(iters):
        z = A @ p
        alpha = rdotr / (p @ z)
        x = x + alpha * p
        r = r - alpha * z
        new_rdotr = r @ r
        p = r + new_rdotr / rdotr * p
        rdotr = new_rdotr
    return x


def test_cg_solves_random_spd_system():
    A = random_spd(8, 0)
    b = np.random.default_rng(1).normal(size=8).astype(np.float32)
    x, info = conjugate_gradient(lambda v: jnp.asarray(A) @ v, jnp.asarray(b), iters=30)
    expected = np.linalg.solve(A.astype(np.float64), b.astype(np.float64))
    np.testing.assert_allclose(x, expected, rtol=1e-4, atol=1e-5)
    assert info.residual < 1e-10
    assert 1 <= int(info.iterations) < 30  # stopped updating once converged


def test_cg_partial_iterations_match_slow_loop():
    # 3 of 8 iterations: far from converged, so this checks the recursion itself
    A = random_spd(8, 2)
    b = np.random.default_rng(3).normal(size=8).astype(np.float32)
    x, info = conjugate_gradient(lambda v: jnp.asarray(A) @ v, jnp.asarray(b), iters=3)
    expected = slow_cg(A.astype(np.float64), b.astype(np.float64), 3)
    np.testing.assert_allclose(x, expected, rtol=1e-4, atol=1e-5)
    assert int(info.iterations) == 3
    np.testing.assert_allclose(info.residual, np.sum((b - A @ expected) ** 2), rtol=1e-3)


def test_cg_known_two_by_two():
    # A = [[4, 1], [1, 3]], b = [1, 2]: x = A⁻¹ b = [3 − 2, −1 + 8] / 11 = [1/11, 7/11]
    A = jnp.array([[4.0, 1.0], [1.0, 3.0]])
    x, _ = conjugate_gradient(lambda v: A @ v, jnp.array([1.0, 2.0]), iters=2)
    np.testing.assert_allclose(x, [1 / 11, 7 / 11], rtol=1e-5)


def test_cg_early_exit_by_masking_and_vmap():
    # b an eigenvector of A (eigenvalue 3): one iteration solves it, x = b / 3; the later
    # iterations must leave x alone (no 0/0 from the zero residual).
    A = jnp.diag(jnp.array([3.0, 1.0, 2.0]))
    b_eig = jnp.array([1.0, 0.0, 0.0])
    b_gen = jnp.array([1.0, 1.0, 1.0])
    xs, info = jax.vmap(lambda b: conjugate_gradient(lambda v: A @ v, b, iters=10))(
        jnp.stack([b_eig, b_gen])
    )
    np.testing.assert_allclose(xs[0], [1 / 3, 0.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(xs[1], [1 / 3, 1.0, 0.5], rtol=1e-5)
    assert int(info.iterations[0]) == 1
    assert int(info.iterations[1]) == 3  # three distinct eigenvalues: exact in three steps
    assert np.all(np.isfinite(xs))


def test_cg_zero_rhs_gives_zero():
    x, info = conjugate_gradient(lambda v: 2.0 * v, jnp.zeros(4), iters=5, residual_tol=0.0)
    np.testing.assert_array_equal(x, 0.0)
    assert int(info.iterations) == 0


def test_cg_validates_inputs():
    with pytest.raises(ValueError, match="1-D"):
        conjugate_gradient(lambda v: v, jnp.zeros((2, 2)))
    with pytest.raises(ValueError, match="iters"):
        conjugate_gradient(lambda v: v, jnp.zeros(2), iters=0)


# ---------------------------------------------------------------- Fisher-vector products


def tiny_policy_problem(seed: int = 0):
    """A one-hidden-layer tanh categorical policy on 6 observations: (params, logits_fn, kl_fn)."""
    k1, k2, k3, k4 = jax.random.split(jax.random.key(seed), 4)
    params = {
        "w1": jax.random.normal(k1, (3, 4)) * 0.7,
        "b1": jax.random.normal(k2, (4,)) * 0.1,
        "w2": jax.random.normal(k3, (4, 3)) * 0.7,
    }
    obs = jax.random.normal(k4, (6, 3))

    def logits_fn(p):
        return jnp.tanh(obs @ p["w1"] + p["b1"]) @ p["w2"]

    old_logits = jax.lax.stop_gradient(logits_fn(params))

    def kl_fn(p):
        return jnp.mean(categorical_kl(old_logits, logits_fn(p)))

    return params, logits_fn, kl_fn


def test_fvp_equals_fisher_and_hessian_of_kl():
    params, logits_fn, kl_fn = tiny_policy_problem()
    flat, unravel = ravel_pytree(params)
    n = flat.size
    # Fisher from its definition: F = mean_i J_iᵀ (diag(p_i) − p_i p_iᵀ) J_i with J_i the
    # Jacobian of observation i's logits; the Hessian of the KL at the old policy equals it.
    J = np.asarray(jax.jit(jax.jacobian(lambda f: logits_fn(unravel(f))))(flat), np.float64)
    p = np.asarray(jax.nn.softmax(logits_fn(params)), np.float64)
    F = np.mean(
        [J[i].T @ (np.diag(p[i]) - np.outer(p[i], p[i])) @ J[i] for i in range(len(p))], axis=0
    )
    H = np.asarray(jax.jit(jax.hessian(lambda f: kl_fn(unravel(f))))(flat), np.float64)
    np.testing.assert_allclose(H, F, atol=1e-5)

    damping = 0.1
    fvp = jax.jit(jax.vmap(fisher_vector_product(kl_fn, params, damping)))
    vs = np.random.default_rng(0).normal(size=(3, n)).astype(np.float32)
    np.testing.assert_allclose(
        fvp(jnp.asarray(vs)), vs @ (F + damping * np.eye(n)).T, rtol=1e-4, atol=1e-5
    )


def test_finite_difference_hvp_close_to_exact():
    params, _, kl_fn = tiny_policy_problem(1)
    flat, unravel = ravel_pytree(params)
    exact = fisher_vector_product(kl_fn, params, 0.0)
    for seed in range(3):
        v = jnp.asarray(np.random.default_rng(seed).normal(size=flat.size), jnp.float32)
        fd = ravel_pytree(finite_difference_hvp(jax.grad(kl_fn), params, unravel(v)))[0]
        ex = exact(v)
        # float32 central differences with ε = sqrt(machine eps): measured ≈ 1e-3 relative
        assert float(jnp.linalg.norm(fd - ex) / jnp.linalg.norm(ex)) < 1e-2


def test_finite_difference_hvp_quadratic_known_value_and_scale_invariance():
    # f(θ) = ½ θᵀAθ: ∇f = Aθ, H v = A v (a central difference is exact for a quadratic)
    A = jnp.array([[2.0, 1.0], [1.0, 3.0]])
    grad_fn = lambda t: A @ t
    theta = jnp.array([0.5, -1.0])
    for v in (jnp.array([1.0, -2.0]), jnp.array([1e4, -2e4]), jnp.array([1e-4, -2e-4])):
        np.testing.assert_allclose(finite_difference_hvp(grad_fn, theta, v), A @ v, rtol=1e-3)
    np.testing.assert_array_equal(finite_difference_hvp(grad_fn, theta, jnp.zeros(2)), 0.0)


def test_finite_difference_hvp_validates():
    with pytest.raises(ValueError, match="structure"):
        finite_difference_hvp(lambda t: t, jnp.zeros(3), jnp.zeros(4))
    with pytest.raises(ValueError, match="eps"):
        finite_difference_hvp(lambda t: t, jnp.zeros(3), jnp.zeros(3), eps=0.0)


# ---------------------------------------------------------------- line search


def test_line_search_known_fraction():
    # θ = 0, step 4, L(θ) = (θ − 1)², KL(θ) = ½ θ², δ = 0.5 (so |θ| ≤ 1 and 0 < θ < 2):
    # 4, 3.2, 2.56, 2.048 raise L; 1.6384, 1.31072, 1.048576 break KL ≤ 0.5;
    # 0.8⁷·4 = 0.8388608 passes: KL = 0.35184, L = 0.025966
    res = backtracking_line_search(
        lambda p: (p - 1.0) ** 2,
        lambda p: 0.5 * p**2,
        jnp.array(0.0),
        jnp.array(4.0),
        jnp.array(1.0),
        max_kl=0.5,
    )
    assert bool(res.accepted)
    assert float(res.step_fraction) == pytest.approx(0.8**7, rel=1e-6)
    assert float(res.params) == pytest.approx(0.8388608, rel=1e-6)
    assert float(res.kl) == pytest.approx(0.5 * 0.8388608**2, rel=1e-5)
    assert float(res.loss) == pytest.approx((0.8388608 - 1.0) ** 2, rel=1e-4)


def test_line_search_rejects_when_nothing_passes():
    # only 3 candidates (4, 3.2, 2.56): all raise the loss, so θ stays at 0
    res = backtracking_line_search(
        lambda p: (p - 1.0) ** 2,
        lambda p: 0.0 * p,
        jnp.array(0.0),
        jnp.array(4.0),
        jnp.array(1.0),
        max_kl=0.5,
        max_backtracks=3,
    )
    assert not bool(res.accepted)
    assert float(res.params) == 0.0 and float(res.step_fraction) == 0.0
    assert float(res.loss) == 1.0


def test_line_search_never_accepts_nan():
    res = backtracking_line_search(
        lambda p: jnp.where(p > 0.5, jnp.nan, (p - 1.0) ** 2),
        lambda p: 0.0 * p,
        jnp.array(0.0),
        jnp.array(1.0),
        jnp.array(1.0),
        max_kl=0.5,
    )
    # 1.0, 0.8, 0.64 give NaN; 0.512 too; 0.4096 is the first finite, improving candidate
    assert bool(res.accepted)
    assert float(res.params) == pytest.approx(0.8**4, rel=1e-6)


# ---------------------------------------------------------------- TRPO step

N_STATES, N_ACTIONS, N_SAMPLES = 3, 3, 60


class Batch:
    """A contextual-bandit batch for a tabular softmax policy (built once, in numpy)."""

    def __init__(self, seed: int = 0, zero_advantages: bool = False):
        rng = np.random.default_rng(seed)
        self.theta_old = rng.normal(size=(N_STATES, N_ACTIONS)).astype(np.float32) * 0.5
        p_old = softmax(self.theta_old.astype(np.float64))
        self.states = rng.integers(0, N_STATES, size=N_SAMPLES)
        self.actions = np.array([rng.choice(N_ACTIONS, p=p_old[s]) for s in self.states])
        adv = rng.normal(size=N_SAMPLES) + (self.actions == 2)  # action 2 is better
        self.adv = (0.0 * adv if zero_advantages else adv).astype(np.float32)
        self.old_log_prob = np.log(p_old[self.states, self.actions]).astype(np.float32)


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def jax_fns(batch: Batch):
    old_logits = jnp.asarray(batch.theta_old)[batch.states]

    def loss_fn(params):
        logp = categorical_log_prob(params["theta"][batch.states], jnp.asarray(batch.actions))
        return -importance_surrogate(logp, jnp.asarray(batch.old_log_prob), jnp.asarray(batch.adv))

    def kl_fn(params):
        return jnp.mean(categorical_kl(old_logits, params["theta"][batch.states]))

    return loss_fn, kl_fn


def numpy_loss_kl(batch: Batch, theta: np.ndarray) -> tuple[float, float]:
    p_new = softmax(theta)
    p_old = softmax(batch.theta_old.astype(np.float64))
    ratio = p_new[batch.states, batch.actions] / np.exp(batch.old_log_prob.astype(np.float64))
    loss = -np.mean(ratio * batch.adv)
    kl_per_state = np.sum(p_old * np.log(p_old / p_new), axis=-1)
    return loss, float(np.mean(kl_per_state[batch.states]))


def numpy_trpo(batch: Batch, max_kl: float, damping: float, ratio=0.8, max_backtracks=15):
    """Slow, obvious TRPO in float64 with an explicit Fisher matrix and an exact solve."""
    theta = batch.theta_old.astype(np.float64)
    p_old = softmax(theta)
    n = N_STATES * N_ACTIONS
    g = np.zeros((N_STATES, N_ACTIONS))
    F = np.zeros((n, n))
    for s, a, adv in zip(batch.states, batch.actions, batch.adv, strict=True):
        score = np.eye(N_ACTIONS)[a] - p_old[s]  # ∇_θ[s] log π(a|s) at θ_old (ratio = 1)
        g[s] -= adv * score / N_SAMPLES
        block = slice(s * N_ACTIONS, (s + 1) * N_ACTIONS)
        F[block, block] += (np.diag(p_old[s]) - np.outer(p_old[s], p_old[s])) / N_SAMPLES
    M = F + damping * np.eye(n)
    s_dir = np.linalg.solve(M, -g.ravel())
    full = np.sqrt(2 * max_kl / (s_dir @ M @ s_dir)) * s_dir
    loss_before, _ = numpy_loss_kl(batch, theta)
    for j in range(max_backtracks):
        cand = theta + ratio**j * full.reshape(theta.shape)
        loss, kl = numpy_loss_kl(batch, cand)
        if loss < loss_before and kl <= max_kl:
            return cand, ratio**j
    return theta, 0.0


def test_trpo_step_matches_slow_reference_and_respects_kl():
    batch = Batch(0)
    loss_fn, kl_fn = jax_fns(batch)
    params = {"theta": jnp.asarray(batch.theta_old)}
    max_kl, damping = 0.01, 0.1
    # 9 parameters: 20 CG iterations solve the 9×9 system to float32 precision
    new, info = trpo_step(loss_fn, kl_fn, params, max_kl=max_kl, damping=damping, cg_iters=20)
    theta_ref, frac_ref = numpy_trpo(batch, max_kl, damping)
    np.testing.assert_allclose(new["theta"], theta_ref, rtol=1e-4, atol=1e-5)
    assert float(info.step_fraction) == pytest.approx(frac_ref, rel=1e-6)

    loss_before, _ = numpy_loss_kl(batch, batch.theta_old.astype(np.float64))
    loss_after, kl = numpy_loss_kl(batch, np.asarray(new["theta"], np.float64))
    assert bool(info.accepted)
    assert kl <= max_kl * (1 + 1e-3)  # the trust region holds, recomputed in float64
    assert kl > 0.3 * max_kl  # and the step uses it (a mis-scaled step would be far smaller)
    assert loss_after < loss_before  # the surrogate improved
    assert float(info.loss_before) == pytest.approx(loss_before, rel=1e-5)
    assert float(info.loss_after) == pytest.approx(loss_after, rel=1e-4)
    assert float(info.kl) == pytest.approx(kl, rel=1e-3)


def test_trpo_step_finite_difference_close_to_exact():
    batch = Batch(1)
    loss_fn, kl_fn = jax_fns(batch)
    params = {"theta": jnp.asarray(batch.theta_old)}
    exact, info_e = trpo_step(loss_fn, kl_fn, params)
    fd, info_f = trpo_step(loss_fn, kl_fn, params, hvp="finite_difference")
    step_e = np.asarray(exact["theta"]) - batch.theta_old
    step_f = np.asarray(fd["theta"]) - batch.theta_old
    assert bool(info_e.accepted) and bool(info_f.accepted)
    assert np.linalg.norm(step_f - step_e) < 1e-2 * np.linalg.norm(step_e)


def test_trpo_step_unsatisfiable_constraint_keeps_old_params():
    batch = Batch(2)
    loss_fn, kl_fn = jax_fns(batch)
    params = {"theta": jnp.asarray(batch.theta_old)}
    # the same curvature, but every candidate's "KL" is above δ = 0.01
    new, info = trpo_step(loss_fn, lambda p: kl_fn(p) + 1.0, params)
    np.testing.assert_array_equal(new["theta"], batch.theta_old)
    assert not bool(info.accepted)
    assert float(info.step_fraction) == 0.0 and float(info.kl) == 0.0
    assert float(info.loss_after) == float(info.loss_before)


def test_trpo_step_zero_gradient_keeps_old_params():
    batch = Batch(3, zero_advantages=True)
    loss_fn, kl_fn = jax_fns(batch)
    params = {"theta": jnp.asarray(batch.theta_old)}
    new, info = trpo_step(loss_fn, kl_fn, params)
    np.testing.assert_array_equal(new["theta"], batch.theta_old)
    assert not bool(info.accepted)
    assert np.isfinite(float(info.cg_residual))


def test_trpo_step_jit_matches_eager_and_compiles_once():
    traces = []

    def step(params, old_log_prob, adv):
        traces.append(1)
        states = jnp.arange(N_SAMPLES) % N_STATES
        actions = jnp.arange(N_SAMPLES) % N_ACTIONS
        old_logits = jax.lax.stop_gradient(params["theta"])[states]

        def loss_fn(p):
            logp = categorical_log_prob(p["theta"][states], actions)
            return -importance_surrogate(logp, old_log_prob, adv)

        def kl_fn(p):
            return jnp.mean(categorical_kl(old_logits, p["theta"][states]))

        return trpo_step(loss_fn, kl_fn, params)

    batch = Batch(4)
    params = {"theta": jnp.asarray(batch.theta_old)}
    states = np.arange(N_SAMPLES) % N_STATES
    actions = np.arange(N_SAMPLES) % N_ACTIONS
    old_lp = jnp.asarray(np.log(softmax(batch.theta_old)[states, actions]), jnp.float32)
    adv = jnp.asarray(batch.adv)

    eager_params, eager_info = step(params, old_lp, adv)
    jitted = jax.jit(step)
    traces.clear()
    jit_params, jit_info = jitted(params, old_lp, adv)
    np.testing.assert_allclose(jit_params["theta"], eager_params["theta"], rtol=1e-5, atol=1e-6)
    assert bool(jit_info.accepted) == bool(eager_info.accepted)
    jitted(jit_params, old_lp, -adv)  # new values, same shapes
    assert len(traces) == 1  # traced (and compiled) once


def test_trpo_learns_a_bandit_within_the_trust_region():
    """Repeated TRPO steps on freshly sampled pulls of a 3-armed bandit find the best arm."""
    means = jnp.array([0.2, 0.5, 0.8])
    max_kl = 0.05

    def iteration(theta, key):
        actions = jax.random.categorical(key, theta, shape=(256,))
        rewards = means[actions]
        adv = rewards - jnp.mean(rewards)
        old_lp = jax.nn.log_softmax(theta)[actions]
        old_logits = jax.lax.stop_gradient(theta)

        def loss_fn(t):
            return -importance_surrogate(jax.nn.log_softmax(t)[actions], old_lp, adv)

        def kl_fn(t):
            return categorical_kl(old_logits, t)

        new, info = trpo_step(loss_fn, kl_fn, theta, max_kl=max_kl)
        return new, info.kl

    keys = jax.random.split(jax.random.key(0), 40)
    theta, kls = jax.jit(lambda t: jax.lax.scan(iteration, t, keys))(jnp.zeros(3))
    assert np.all(np.asarray(kls) <= max_kl * (1 + 1e-6))
    # from uniform (1/3) the best arm's probability climbs past 0.9 in 40 steps of KL ≤ 0.05
    assert float(jax.nn.softmax(theta)[2]) > 0.9


@pytest.mark.parametrize(
    "kwargs",
    [
        {"hvp": "bogus"},
        {"max_kl": 0.0},
        {"cg_iters": 0},
        {"backtrack_ratio": 1.5},
        {"max_backtracks": 0},
        {"damping": -1.0},
    ],
)
def test_trpo_step_validates_settings(kwargs):
    with pytest.raises(ValueError):
        trpo_step(lambda p: jnp.sum(p**2), lambda p: jnp.sum(p**2), jnp.ones(2), **kwargs)
