"""rllab's linear feature baseline: known features, and the fit against numpy's least squares."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from adaptax.rl import linear_baseline as lb


def test_features_known_values():
    obs = jnp.array([[0.5, -20.0], [2.0, 3.0]])
    phi = np.asarray(lb.features(obs))
    # row 0: o = (0.5, -10 [clipped]), o² = (0.25, 100), t = 0/100 -> 0, 0, 0, then 1
    np.testing.assert_allclose(phi[0], [0.5, -10, 0.25, 100, 0, 0, 0, 1], rtol=1e-6)
    # row 1: t = 1/100 = 0.01 -> 0.01, 1e-4, 1e-6
    np.testing.assert_allclose(phi[1], [2, 3, 4, 9, 0.01, 1e-4, 1e-6, 1], rtol=1e-5)


@pytest.mark.parametrize("reg", [0.0, 1e-2])
def test_fit_equals_lstsq(reg):
    with jax.enable_x64(True):
        rng = np.random.default_rng(0)
        obs = rng.normal(size=(3, 30, 2))
        returns = rng.normal(size=(3, 30))
        mask = np.ones((3, 30))
        mask[1, 20:] = 0.0  # one trajectory ended early
        phi = np.asarray(jax.vmap(lb.features)(jnp.asarray(obs)))
        w = np.asarray(lb.fit(jnp.asarray(phi), jnp.asarray(returns), jnp.asarray(mask), reg))
        x = phi.reshape(-1, phi.shape[-1])[mask.reshape(-1) > 0]
        y = returns.reshape(-1)[mask.reshape(-1) > 0]
        # ridge = ordinary least squares on the system augmented with sqrt(reg)·I and zeros
        xa = np.vstack([x, np.sqrt(reg) * np.eye(x.shape[1])])
        ya = np.concatenate([y, np.zeros(x.shape[1])])
        expected = np.linalg.lstsq(xa, ya, rcond=None)[0]
        np.testing.assert_allclose(w, expected, rtol=1e-6, atol=1e-8)
        pred = np.asarray(lb.fit_predict(jnp.asarray(obs), jnp.asarray(returns),
                                         jnp.asarray(mask), reg))
        np.testing.assert_allclose(pred, phi @ expected, rtol=1e-6, atol=1e-8)


def test_fit_recovers_exact_linear_target():
    # returns that are exactly φ·w* are reproduced (up to the tiny ridge term)
    obs = jax.random.uniform(jax.random.PRNGKey(0), (4, 50, 2), minval=-0.5, maxval=0.5)
    phi = jax.vmap(lb.features)(obs)
    w_true = jnp.array([1.0, -2.0, 0.5, 0.3, -4.0, 2.0, 1.0, -3.0])
    pred = lb.fit_predict(obs, phi @ w_true)
    np.testing.assert_allclose(pred, phi @ w_true, atol=2e-3)


def test_bad_inputs():
    with pytest.raises(ValueError, match="obs must be"):
        lb.features(jnp.zeros(3))
    with pytest.raises(ValueError, match="reg must be"):
        lb.fit(jnp.zeros((2, 3)), jnp.zeros(2), reg=-1.0)
