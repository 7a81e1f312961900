"""The curated public API imports and is what the README shows."""

import jax
import jax.numpy as jnp


def test_public_api_imports_and_works():
    import adaptax
    import adaptax.maml
    from adaptax.maml import adapt, make_meta_trainer, meta_loss  # noqa: F401

    assert adaptax.maml.adapt is adapt
    loss = lambda p, b: jnp.mean((p["w"] * b.x - b.y) ** 2)  # noqa: E731
    batch = adaptax.Batch(jnp.ones(3), jnp.ones(3))
    # dL/dw at w = 0 is mean(2·(0·1 − 1)·1) = −2, so one step of 0.1 gives w = 0.2.
    out = adapt(loss, {"w": jnp.array(0.0)}, batch, lr=0.1)
    assert jnp.allclose(out["w"], 0.2)
    # With x = y = 1, L(w) = (w − 1)², the adapted w' = w − 0.1·2(w − 1) = 0.8w + 0.2, so the
    # query loss is (0.8(w − 1))² and its gradient through the inner step is 2·0.64·(w − 1):
    # −1.28 at w = 0 (first-order MAML would give 2·(w' − 1) = −1.6).
    grads = jax.grad(meta_loss, argnums=1)(loss, {"w": jnp.array(0.0)}, batch, batch, lr=0.1)
    assert jnp.allclose(grads["w"], -1.28)


def test_cli_lists_the_experiments(capsys):
    from adaptax.cli import main

    assert main(["list"]) == 0
    assert "maml-sinusoid" in capsys.readouterr().out
    # a preset's own values, with the keys it changes marked: rl2-mdps `default` sets lr 0.003
    # and value_norm true where the base config has 0.001 and false
    assert main(["list", "-v", "rl2-mdps", "--preset", "default"]) == 0
    out = capsys.readouterr().out
    assert "* lr = 0.003:" in out and "* value_norm = true:" in out and "  seed = 0:" in out
    assert "maml-sinusoid" not in out
    assert main(["list", "-v", "rl2-mdps", "--preset", "huge"]) == 2
    assert "unknown preset 'huge'" in capsys.readouterr().err


def test_environments_are_part_of_the_api():
    import adaptax

    env = adaptax.envs.make("bernoulli-bandit", num_arms=3)
    task = env.sample_task(jax.random.PRNGKey(0))
    assert task.probs.shape == (3,)
    assert {"bernoulli-bandit", "tabular-mdp", "navigation2d"} <= set(adaptax.envs.registered())
