"""MAML-RL: inner policy gradient, advantages, meta-gradient through the inner step, learning."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from adaptax.envs.navigation2d import Navigation2D
from adaptax.nets.gaussian_mlp import GaussianMLP
from adaptax.rl import maml_rl as mr
from adaptax.rl import maml_rl_outer, trpo
from adaptax.rl.losses import gaussian_kl, masked_mean


def _tiny(hidden=(4,), horizon=6, **kw):
    net = GaussianMLP(hidden=hidden, action_dim=2, init_log_std=-0.3)
    defaults = dict(meta_batch=2, num_trajs=3, inner_lr=0.1)
    defaults.update(kw)
    return net, mr.MAMLRL(**defaults), mr.EnvSampler(Navigation2D(horizon=horizon))


def _fixed_batch(key, k=3, t=6, obs_dim=2):
    ks = jax.random.split(key, 4)
    mask = jnp.ones((k, t)).at[1, 4:].set(0.0)
    return mr.Batch(
        obs=jax.random.normal(ks[0], (k, t, obs_dim)),
        action=jax.random.normal(ks[1], (k, t, 2)),
        reward=jax.random.normal(ks[2], (k, t)) * mask,
        mask=mask,
        log_prob=jnp.zeros((k, t)),
        advantage=jax.random.normal(ks[3], (k, t)) * mask,
        episode_return=jnp.zeros((k,)),
        adv_scale=jnp.ones((k,)),
    )


def test_inner_gradient_equals_slow_estimate():
    net, algo, sampler = _tiny()
    params = net.init(jax.random.PRNGKey(0), jnp.zeros(2))
    batch = _fixed_batch(jax.random.PRNGKey(1))
    grad = jax.grad(lambda p: mr.inner_loss(net.apply, p, batch))(params)

    def logp(p, s, a):
        mean, log_std = net.apply(p, s)
        return jnp.sum(-0.5 * ((a - mean) / jnp.exp(log_std)) ** 2 - log_std
                       - 0.5 * np.log(2 * np.pi))

    # slow: -(1/Σm) Σ_{n,t} m Â ∇ log π(a|s), one sample at a time (one compiled per-sample
    # gradient, called in a Python loop)
    grad_logp = jax.jit(jax.grad(logp))
    total, count = None, 0.0
    for n in range(3):
        for t in range(6):
            if batch.mask[n, t] == 0:
                continue
            g = ravel_pytree(grad_logp(params, batch.obs[n, t], batch.action[n, t]))[0]
            term = float(batch.advantage[n, t]) * np.asarray(g)
            total = term if total is None else total + term
            count += 1
    np.testing.assert_allclose(ravel_pytree(grad)[0], -total / count, rtol=1e-4, atol=1e-6)
    # the log-std component in closed form: ∂ log π / ∂ log σ_i = z_i² − 1
    mean, log_std = net.apply(params, batch.obs)
    z2 = ((batch.action - mean) / jnp.exp(log_std)) ** 2
    expected = -jnp.sum((batch.mask * batch.advantage)[..., None] * (z2 - 1), (0, 1)) / count
    np.testing.assert_allclose(grad["params"]["log_std"], expected, rtol=1e-4, atol=1e-6)


def test_process_batch_matches_slow_computation():
    rng = np.random.default_rng(0)
    k, t = 4, 7
    obs = rng.normal(size=(k, t, 2)).astype(np.float32)
    reward = rng.normal(size=(k, t)).astype(np.float32)
    done = np.zeros((k, t), bool)
    done[0, 3] = True  # steps 4.. of stream 0 belong to a new episode and are masked
    done[:, -1] = True
    gamma = 0.9
    with jax.enable_x64(True):
        batch = mr.process_batch(jnp.asarray(obs, jnp.float64), jnp.zeros((k, t, 2)),
                                 jnp.asarray(reward, jnp.float64), jnp.asarray(done),
                                 jnp.zeros((k, t)), gamma, baseline_reg=0.0)
        mask = np.ones((k, t))
        mask[0, 4:] = 0
        np.testing.assert_array_equal(batch.mask, mask)
        ret = np.zeros((k, t))
        for n in range(k):
            g = 0.0
            for s in reversed(range(t)):
                g = reward[n, s] * mask[n, s] + gamma * g * (1 - done[n, s])
                ret[n, s] = g
        np.testing.assert_allclose(batch.episode_return, (reward * mask).sum(1), rtol=1e-6)
        tt = np.arange(t)[None, :, None].repeat(k, 0) / 100.0
        phi = np.concatenate([obs, obs**2, tt, tt**2, tt**3, np.ones_like(tt)], -1)
        sel = mask > 0
        w = np.linalg.lstsq(phi[sel], ret[sel], rcond=None)[0]
        adv = ret - phi @ w
        scale = adv[sel].std() + 1e-8
        adv = (adv - adv[sel].mean()) / scale
        np.testing.assert_allclose(batch.advantage, adv * mask, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(batch.adv_scale, np.full(k, scale), rtol=1e-6)


def test_sample_and_adapt_is_the_test_chain():
    # D_j ~ π_{θ_j}, θ_{j+1} = θ_j − α_j ∇L(θ_j; D_j), the returns of adaptation_returns
    net, algo, sampler = _tiny()
    params = net.init(jax.random.PRNGKey(0), jnp.zeros(2))
    tasks = sampler.sample_tasks(jax.random.PRNGKey(3), 2)
    keys = jax.random.split(jax.random.PRNGKey(4), 2)
    lrs = (0.1, 0.05, 0.05)
    batches, chain = mr.sample_and_adapt(algo, net.apply, sampler, params, tasks, keys, lrs, 3)
    assert len(batches) == 4 and len(chain) == 4
    flat = lambda p: ravel_pytree(p)[0]  # noqa: E731
    for i in range(2):  # task i, adapted alone, along its own chain
        task = jax.tree_util.tree_map(lambda x, i=i: x[i], (chain, batches))
        theta = params
        for j, lr in enumerate(lrs):
            theta = mr.adapt_policy(algo, net.apply, theta, task[1][j], lr)
            np.testing.assert_allclose(flat(task[0][j + 1]), flat(theta), rtol=1e-6, atol=1e-7)
    ret = mr.adaptation_returns(algo, net.apply, sampler, params, tasks, keys, 3, 3, lrs)
    assert ret.shape == (2, 4)
    np.testing.assert_allclose(ret, np.stack([b.episode_return.mean(1) for b in batches], 1),
                               rtol=1e-6)


def test_meta_gradient_matches_finite_differences():
    with jax.enable_x64(True):
        net, algo, sampler = _tiny(hidden=(3,), inner_lr=0.3)
        params = jax.tree_util.tree_map(lambda x: x.astype(jnp.float64),
                                        net.init(jax.random.PRNGKey(0), jnp.zeros(2)))
        pre = _fixed_batch(jax.random.PRNGKey(1))
        post = _fixed_batch(jax.random.PRNGKey(2))
        post = post._replace(log_prob=-jnp.ones_like(post.log_prob))
        theta, unravel = ravel_pytree(params)

        @jax.jit
        def f(flat):
            return mr.post_adaptation_surrogate(algo, net.apply, unravel(flat), (pre,), post,
                                                (0.3,))

        grad = jax.jit(jax.grad(f))(theta)
        first_order = mr.MAMLRL(first_order=True)
        grad_fo = jax.grad(lambda x: mr.post_adaptation_surrogate(
            first_order, net.apply, unravel(x), (pre,), post, (0.3,)))(theta)
        h = 1e-6
        for v in jax.random.normal(jax.random.PRNGKey(3), (5, theta.size)):
            v = v.astype(jnp.float64)
            fd = (f(theta + h * v) - f(theta - h * v)) / (2 * h)
            np.testing.assert_allclose(jnp.vdot(grad, v), fd, rtol=1e-6, atol=1e-9)
        # the second-order term matters: first-order MAML's gradient differs
        assert float(jnp.linalg.norm(grad - grad_fo)) > 1e-3 * float(jnp.linalg.norm(grad))


def test_meta_iteration_jit_matches_eager_and_respects_trust_region():
    net, algo, sampler = _tiny(horizon=4, num_trajs=2, cg_iters=3)
    params = net.init(jax.random.PRNGKey(0), jnp.zeros(2))
    state = mr.make_maml_rl(algo, net.apply, sampler).init(jax.random.PRNGKey(5), params)
    s_jit, m_jit = jax.jit(lambda s: mr.meta_iteration(algo, net.apply, sampler, s))(state)
    s_eager, m_eager = mr.meta_iteration(algo, net.apply, sampler, state)  # op by op
    np.testing.assert_allclose(m_jit.pre_return, m_eager.pre_return, rtol=1e-4)
    np.testing.assert_allclose(ravel_pytree(s_jit.params)[0], ravel_pytree(s_eager.params)[0],
                               rtol=1e-3, atol=1e-5)
    assert float(m_jit.kl) <= algo.max_kl * (1 + 1e-5)
    assert int(s_jit.iteration) == 1


def test_smoke_training_improves_post_adaptation_return():
    net = GaussianMLP(hidden=(16, 16), action_dim=2)
    algo = mr.MAMLRL(meta_batch=8, num_trajs=10, inner_lr=0.1, cg_iters=5)
    sampler = mr.EnvSampler(Navigation2D(horizon=20))
    params = net.init(jax.random.PRNGKey(0), jnp.zeros(2))
    tasks = sampler.sample_tasks(jax.random.PRNGKey(7), 16)
    keys = jax.random.split(jax.random.PRNGKey(8), 16)
    evaluate = jax.jit(lambda p, t, k: mr.adaptation_returns(algo, net.apply, sampler, p, t, k,
                                                             1, 20))
    before = np.asarray(evaluate(params, tasks, keys)).mean(0)
    learner = mr.make_maml_rl(algo, net.apply, sampler)
    state, metrics = learner.run(learner.init(jax.random.PRNGKey(1), params), 15)
    after = np.asarray(evaluate(state.params, tasks, keys)).mean(0)
    # at random init the mean return over 20 steps is about −13 (distance ≈ 0.38 from the
    # origin plus a drift); after 15 meta-iterations the adapted policy must be clearly better
    assert after[1] > before[1] + 2.0, (before, after)
    assert np.all(np.isfinite(np.asarray(metrics.loss)))
    # the next chunk reuses the compiled scan: the initial parameters have the trained ones'
    # types (no weak-typed leaf that an update would make strong)
    learner.run(state, 15)
    assert learner.run.compiled._cache_size() == 1


def test_all_steps_objective_scores_every_inner_step():
    net, algo, sampler = _tiny()
    algo_all = mr.MAMLRL(**{**algo.__dict__, "meta_objective": "all"})
    params = net.init(jax.random.PRNGKey(0), jnp.zeros(2))
    pre = tuple(_fixed_batch(jax.random.PRNGKey(i)) for i in (1, 2))
    post = _fixed_batch(jax.random.PRNGKey(3))
    lrs = (0.1, 0.05)
    # one inner step: "all" is "last"
    one = [mr.post_adaptation_surrogate(a, net.apply, params, pre[:1], post, lrs[:1])
           for a in (algo, algo_all)]
    np.testing.assert_allclose(one[0], one[1], rtol=1e-6)
    # two: the mean of the surrogate of θ_1 on D_1 and of θ_2 on the post batch (slow, by hand)
    theta1 = mr.adapt_policy(algo, net.apply, params, pre[0], 0.1)
    theta2 = mr.adapt_policy(algo, net.apply, theta1, pre[1], 0.05)
    by_hand = [mr.post_adaptation_surrogate(algo, net.apply, t, (), b, ())
               for t, b in ((theta1, pre[1]), (theta2, post))]
    surrogate = {a: mr.post_adaptation_surrogate(a, net.apply, params, pre, post, lrs)
                 for a in (algo, algo_all)}
    np.testing.assert_allclose(surrogate[algo_all], np.mean(by_hand), rtol=1e-5)
    np.testing.assert_allclose(surrogate[algo], by_hand[1], rtol=1e-5)
    # a meta-iteration through two steps keeps the trust region over both adapted policies
    _, algo2, _ = _tiny(inner_steps=2, meta_objective="all")
    state = mr.make_maml_rl(algo, net.apply, sampler).init(jax.random.PRNGKey(5), params)
    new, metrics = jax.jit(lambda s: mr.meta_iteration(algo2, net.apply, sampler, s))(state)
    assert float(metrics.kl) <= algo2.max_kl * 1.01 and np.isfinite(float(metrics.loss))


def test_rescale_to_kl_reads_the_curvature_off_the_true_kl():
    theta = jnp.array([0.3, -0.2])
    curvature = jnp.array([[3.0, 1.0], [1.0, 2.0]])  # KL = ½ dᵀ C d around θ

    def kl(t):
        d = t - theta
        return 0.5 * d @ curvature @ d

    for step in (jnp.array([0.02, 0.04]), jnp.array([2.0, -1.0])):  # too short, too long
        scaled, factor = trpo.rescale_to_kl(kl, theta, step, max_kl=0.01)
        np.testing.assert_allclose(kl(theta + scaled), 0.01, rtol=1e-5)
        np.testing.assert_allclose(scaled, factor * step, rtol=1e-6)
    # the scale-up is bounded, and a KL of 0 or NaN leaves the step alone
    _, factor = trpo.rescale_to_kl(kl, theta, jnp.array([1e-6, 0.0]), max_kl=0.01)
    assert float(factor) == 10.0
    for bad in (lambda t: jnp.zeros(()), lambda t: jnp.full((), jnp.nan)):
        same, factor = trpo.rescale_to_kl(bad, theta, jnp.ones(2), max_kl=0.01)
        assert float(factor) == 1.0 and np.all(np.asarray(same) == 1.0)


def test_measured_step_fills_the_trust_region_with_a_subsampled_fisher():
    # With one trajectory of three in the Fisher, the model's step misjudges the KL; the
    # measured step lands its full step at δ (or the line search shrinks it below).
    net, algo, sampler = _tiny(inner_steps=2, meta_objective="all", fvp_subsample=0.34, cg_iters=5)
    params = net.init(jax.random.PRNGKey(0), jnp.zeros(2))
    state = mr.make_maml_rl(algo, net.apply, sampler).init(jax.random.PRNGKey(5), params)
    plain = jax.jit(lambda s: mr.meta_iteration(algo, net.apply, sampler, s))(state)[1]
    measured_algo = mr.MAMLRL(**{**algo.__dict__, "measured_step": True})
    _, measured = jax.jit(lambda s: mr.meta_iteration(measured_algo, net.apply, sampler, s))(state)
    assert float(plain.step_scale) == 1.0 and float(measured.step_scale) != 1.0
    assert float(measured.kl) <= algo.max_kl * 1.01
    if float(measured.step_fraction) == 1.0:  # accepted at once: its KL is δ
        np.testing.assert_allclose(float(measured.kl), algo.max_kl, rtol=0.05)
    with pytest.raises(ValueError, match="measured_step"):
        mr.MAMLRL(measured_step=True, hvp="exact")


def test_lvc_inner_loss_has_reinforces_gradient_and_adds_the_score_term_to_its_hessian():
    # LVC: −mean π/⊥π · Â. Same gradient as −mean log π · Â; Hessian larger by
    # −mean Â ∇log π ∇log πᵀ, built here one sample at a time.
    with jax.enable_x64(True):
        net, _, _ = _tiny(hidden=(3,))
        params = jax.tree_util.tree_map(lambda x: x.astype(jnp.float64),
                                        net.init(jax.random.PRNGKey(0), jnp.zeros(2)))
        batch = jax.tree_util.tree_map(lambda x: x.astype(jnp.float64),
                                       _fixed_batch(jax.random.PRNGKey(1)))
        theta, unravel = ravel_pytree(params)

        def loss(estimator):
            return lambda t: mr.inner_loss(net.apply, unravel(t), batch, estimator)

        np.testing.assert_allclose(jax.grad(loss("lvc"))(theta),
                                   jax.grad(loss("reinforce"))(theta), rtol=1e-12, atol=1e-14)

        def logp(t, s, a):
            mean, log_std = net.apply(unravel(t), s)
            return jnp.sum(-0.5 * ((a - mean) / jnp.exp(log_std)) ** 2 - log_std)

        score = jax.grad(logp)
        extra, count = np.zeros((theta.size, theta.size)), 0
        for n in range(3):
            for t in range(6):
                if batch.mask[n, t] == 0:
                    continue
                g = np.asarray(score(theta, batch.obs[n, t], batch.action[n, t]))
                extra -= float(batch.advantage[n, t]) * np.outer(g, g)
                count += 1
        want = np.asarray(jax.hessian(loss("reinforce"))(theta)) + extra / count
        np.testing.assert_allclose(jax.hessian(loss("lvc"))(theta), want, rtol=1e-9, atol=1e-12)
        assert np.abs(extra).max() > 1e-3  # the two Hessians do differ
        with pytest.raises(ValueError, match="estimator"):
            mr.inner_loss(net.apply, params, batch, "dice")


def test_settings_are_validated():

    with pytest.raises(ValueError, match="inner_lr"):
        mr.MAMLRL(inner_lr=0.0)
    with pytest.raises(ValueError, match="hvp"):
        mr.MAMLRL(hvp="bogus")
    with pytest.raises(ValueError, match="meta_objective"):
        mr.MAMLRL(meta_objective="bogus")
    with pytest.raises(ValueError, match="fvp_subsample"):
        mr.MAMLRL(fvp_subsample=0.0)
    with pytest.raises(ValueError, match="fvp_subsample"):
        mr.MAMLRL(fvp_subsample=0.5, hvp="exact")
    # ⌈0.25 · 20⌉ = 5 and ⌈0.3 · 10⌉ = 3 trajectories per task in the Fisher-vector products
    assert mr.MAMLRL(fvp_subsample=0.25).fvp_trajs == 5
    assert mr.MAMLRL(num_trajs=10, fvp_subsample=0.3).fvp_trajs == 3
    with pytest.raises(ValueError, match="inner_estimator"):
        mr.MAMLRL(inner_estimator="dice")
    with pytest.raises(ValueError, match="fvp_subsample_by"):
        mr.MAMLRL(fvp_subsample_by="task")
    # round(1 / 0.25) = 4 and round(1 / 0.3) = 3, never more than the horizon
    assert mr.MAMLRL(fvp_subsample=0.25).fvp_stride(100) == 4
    assert mr.MAMLRL(fvp_subsample=0.3).fvp_stride(100) == 3
    assert mr.MAMLRL(fvp_subsample=0.1).fvp_stride(2) == 2


def test_fvp_sample_by_time_takes_staggered_steps_of_every_trajectory():
    net, algo, sampler = _tiny(num_trajs=3, horizon=7, fvp_subsample=0.34, fvp_subsample_by="time")
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    batch = jax.vmap(lambda k: _fixed_batch(k, k=3, t=7))(keys)  # two tasks
    got = mr.fvp_sample(algo, batch)
    # stride 3, ⌊7 / 3⌋ = 2 steps: trajectory n takes steps n mod 3 and n mod 3 + 3
    assert got.obs.shape == (2, 3, 2, 2) and got.mask.shape == (2, 3, 2)
    for task in range(2):
        for n in range(3):
            for m, t in enumerate((n % 3, n % 3 + 3)):
                for name in ("obs", "action", "reward", "mask", "log_prob", "advantage"):
                    np.testing.assert_array_equal(getattr(got, name)[task, n, m],
                                                  getattr(batch, name)[task, n, t])
    np.testing.assert_array_equal(got.episode_return, batch.episode_return)
    # stride 1 (fvp_subsample = 1) keeps the batch whole; "trajectory" keeps the first ones
    whole = mr.MAMLRL(**{**algo.__dict__, "fvp_subsample": 1.0})
    assert mr.fvp_sample(whole, batch) is batch
    first = mr.MAMLRL(**{**algo.__dict__, "fvp_subsample_by": "trajectory"})
    np.testing.assert_array_equal(mr.fvp_sample(first, batch).obs, batch.obs[:, :2])


def test_meta_iteration_with_a_time_subsampled_fisher_respects_the_trust_region():
    net, algo, sampler = _tiny(inner_steps=2, meta_objective="all", fvp_subsample=0.5,
                      fvp_subsample_by="time", cg_iters=5)
    params = net.init(jax.random.PRNGKey(0), jnp.zeros(2))
    state = mr.make_maml_rl(algo, net.apply, sampler).init(jax.random.PRNGKey(5), params)
    new, metrics = jax.jit(lambda s: mr.meta_iteration(algo, net.apply, sampler, s))(state)
    assert 0.0 < float(metrics.kl) <= algo.max_kl * 1.01
    moved = ravel_pytree(new.params)[0] - ravel_pytree(params)[0]
    assert float(jnp.max(jnp.abs(moved))) > 0.0


def test_gauss_newton_fvp_equals_hessian_of_kl_through_inner_step():
    # At θ_old the KL's Hessian through the inner step equals Jᵀ ∇²k J (its output-space
    # gradient vanishes there): compare with the full autodiff Hessian on a tiny problem.
    with jax.enable_x64(True):
        net, algo, sampler = _tiny(hidden=(3,))
        params = jax.tree_util.tree_map(lambda x: x.astype(jnp.float64),
                                        net.init(jax.random.PRNGKey(0), jnp.zeros(2)))
        pre, post = _fixed_batch(jax.random.PRNGKey(1)), _fixed_batch(jax.random.PRNGKey(2))
        theta, unravel = ravel_pytree(params)

        def outputs(t):
            return net.apply(mr.adapt_policy(algo, net.apply, unravel(t), pre, 0.1), post.obs)

        old = outputs(theta)

        def kl_of_outputs(out):
            return masked_mean(gaussian_kl(old[0], old[1], out[0], out[1]), post.mask)

        hessian = jax.jit(jax.hessian(lambda t: kl_of_outputs(outputs(t))))(theta)
        fvp = jax.jit(mr.gauss_newton_fvp(outputs, kl_of_outputs, theta, damping=0.01))
        for v in jax.random.normal(jax.random.PRNGKey(4), (3, theta.size), jnp.float64):
            np.testing.assert_allclose(fvp(v), hessian @ v + 0.01 * v, rtol=1e-8, atol=1e-12)


def test_subsampled_fvp_outputs_are_anchored_at_the_true_adapted_policy():
    # fvp_subsample: the chain passes through the true θ' = θ − α∇L(θ; D_full) at θ_old, and its
    # Jacobian is J_f(θ') (I − α ∇²L(θ_old; D_sub)), checked against jvp-of-grad by hand.
    with jax.enable_x64(True):
        net, algo, sampler = _tiny(hidden=(3,))
        params = jax.tree_util.tree_map(lambda x: x.astype(jnp.float64),
                                        net.init(jax.random.PRNGKey(0), jnp.zeros(2)))
        full, obs = _fixed_batch(jax.random.PRNGKey(1)), _fixed_batch(jax.random.PRNGKey(2)).obs
        sub = jax.tree_util.tree_map(lambda x: x[:2], full)
        adapted = mr.adapt_policy(algo, net.apply, params, full, 0.1)
        theta, unravel = ravel_pytree(params)

        def anchored(t):
            return maml_rl_outer._anchored_outputs(algo, net.apply, unravel(t), (sub,), obs, (0.1,),
                                                   (params, adapted))

        np.testing.assert_allclose(anchored(theta)[0], net.apply(adapted, obs)[0], atol=1e-12)
        v = jax.random.normal(jax.random.PRNGKey(3), theta.shape, jnp.float64)
        _, got = jax.jvp(anchored, (theta,), (v,))
        grad_sub = jax.grad(lambda t: mr.inner_loss(net.apply, unravel(t), sub))
        d_adapted = v - 0.1 * jax.jvp(grad_sub, (theta,), (v,))[1]  # (I − α H_sub) v
        flat_adapted, unravel_a = ravel_pytree(adapted)
        _, want = jax.jvp(lambda a: net.apply(unravel_a(a), obs), (flat_adapted,), (d_adapted,))
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)
        # and the full-batch Hessian would give a different product (the subsample matters)
        assert float(jnp.max(jnp.abs(got[0] - jax.jvp(
            lambda t: net.apply(mr.adapt_policy(algo, net.apply, unravel(t), full, 0.1), obs),
            (theta,), (v,))[1][0]))) > 1e-6


_DATA_PARALLEL = """
import jax, jax.numpy as jnp, numpy as np
from adaptax import parallel
from adaptax.envs.navigation2d import Navigation2D
from adaptax.nets.gaussian_mlp import GaussianMLP
from adaptax.rl import maml_rl as mr
assert jax.device_count() == 2
net = GaussianMLP(hidden=(8,), action_dim=2, init_log_std=-0.3)
sampler = mr.EnvSampler(Navigation2D(horizon=8))
kw = dict(meta_batch=4, num_trajs=4, inner_lr=0.1, inner_steps=2,
          meta_objective="all", inner_estimator="lvc", fvp_subsample=0.5,
          fvp_subsample_by="time", cg_iters=4, measured_step=True)
params = net.init(jax.random.PRNGKey(0), jnp.zeros(2))
for hvp in ("gauss_newton", "exact"):
    algo = mr.MAMLRL(**(kw | {"hvp": hvp} if hvp == "gauss_newton" else
                        kw | {"hvp": hvp, "fvp_subsample": 1.0, "measured_step": False}))
    learner = mr.make_maml_rl(algo, net.apply, sampler)
    run, start = learner.run, learner.init(jax.random.PRNGKey(2), params)
    one, m1 = run(start, 3)
    # two tasks on each device: the same steps and metrics, the parameters on both devices
    two, m2 = parallel.on(parallel.data_mesh(2), run)(start, 3)
    moved = max(float(jnp.abs(a - b).max()) for a, b in
                zip(jax.tree.leaves(one.params), jax.tree.leaves(params)))
    assert moved > 1e-4, moved
    for a, b in zip(jax.tree.leaves((one, m1)), jax.tree.leaves((two, m2))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-3, atol=1e-5)
    for leaf in jax.tree.leaves(two.params):
        assert len(leaf.sharding.device_set) == 2, leaf.sharding
    assert int(two.iteration) == 3
print("ok")
"""


def test_two_devices_train_to_the_numbers_of_one(on_host_devices):
    # Two host devices need XLA_FLAGS before JAX starts, hence a fresh interpreter.
    out = on_host_devices(_DATA_PARALLEL)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "ok"
