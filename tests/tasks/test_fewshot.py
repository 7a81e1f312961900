"""Few-shot classification tasks drawn in the compiled step, the Conv4 classifier, and MAML's
trainer drawing tasks inside each iteration."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from adaptax.meta import maml
from adaptax.nets.conv4 import Conv4
from adaptax.tasks import fewshot, sinusoid


def _pool(classes=7, examples=6, size=4):
    # image (c, e) is filled with 10·c + e, so every pixel names its class and example
    values = 10 * np.arange(classes)[:, None] + np.arange(examples)[None, :]
    return jnp.asarray(np.broadcast_to(values[:, :, None, None], (classes, examples, size, size))
                       .astype(np.uint8))


def test_a_task_takes_distinct_classes_and_distinct_examples_with_matching_labels():
    pool = _pool()
    sample = jax.jit(fewshot.sample_task, static_argnums=(2, 3, 4, 5))
    for seed in range(20):
        task = sample(jax.random.PRNGKey(seed), pool, 3, 2, 3, False)
        assert task.support.x.shape == (6, 4, 4, 1) and task.query.x.shape == (9, 4, 4, 1)
        code = lambda x: np.rint(np.asarray(x)[:, 0, 0, 0] * 255).astype(int)  # noqa: E731
        s_code, q_code = code(task.support.x), code(task.query.x)
        s_class, q_class = s_code // 10, q_code // 10
        # one class per label, the same in support and query, three different classes
        for label in range(3):
            assert len(set(s_class[np.asarray(task.support.y) == label])) == 1
            assert set(s_class[np.asarray(task.support.y) == label]) == set(
                q_class[np.asarray(task.query.y) == label])
        assert len(set(s_class)) == 3
        # no drawing is both a support and a query example
        assert not set(s_code) & set(q_code) and len(set(q_code)) == 9


def test_rotations_turn_a_whole_class_by_one_multiple_of_90_degrees():
    pool = jnp.asarray(np.random.default_rng(0).integers(0, 255, (4, 3, 5, 5), np.uint8))
    task = fewshot.sample_task(jax.random.PRNGKey(3), pool, 4, 1, 2, rotations=True)
    images = np.asarray(np.rint(np.asarray(task.support.x)[..., 0] * 255), np.uint8)
    turns = []
    for img in images:
        matches = [(c, e, k) for c in range(4) for e in range(3) for k in range(4)
                   if np.array_equal(np.rot90(np.asarray(pool[c, e]), k), img)]
        assert len(matches) == 1
        turns.append(matches[0][2])
    assert len(set(turns)) > 1  # different classes got different turns here


def test_the_pool_is_an_argument_of_the_compiled_sampler():
    sample = jax.jit(lambda k, pool: fewshot.sample_tasks(k, pool, 2, 5, 1, 1))
    a = sample(jax.random.PRNGKey(0), _pool())
    b = sample(jax.random.PRNGKey(0), _pool() + 1)  # another pool, the same compiled program
    assert sample._cache_size() == 1
    np.testing.assert_allclose(np.asarray(b.support.x) - np.asarray(a.support.x), 1 / 255,
                               atol=1e-6)
    with pytest.raises(ValueError, match="needs 8 classes"):
        fewshot.sample_task(jax.random.PRNGKey(0), _pool(), 8, 1, 1)


def test_conv4_normalises_with_the_batch_and_classifies_every_image():
    net = Conv4(classes=5, filters=8)
    x = jax.random.normal(jax.random.PRNGKey(0), (6, 28, 28, 1))
    params = net.init(jax.random.PRNGKey(1), x)
    out = net.apply(params, x)
    assert out.shape == (6, 5)
    # batch statistics: an image's logits depend on the rest of its batch (transductive)
    assert not np.allclose(net.apply(params, x[:3]), out[:3], atol=1e-4)
    # the patch-matmul convolution reads the same parameters as XLA's and gives the same output
    np.testing.assert_allclose(Conv4(classes=5, filters=8, conv="lax").apply(params, x), out,
                               rtol=1e-4, atol=1e-4)
    pooled = Conv4(classes=5, filters=8, downsample="max_pool")
    x84 = jnp.zeros((2, 84, 84, 3))
    assert pooled.apply(pooled.init(jax.random.PRNGKey(0), x84), x84).shape == (2, 5)


def test_drawing_tasks_inside_each_iteration_gives_the_same_numbers():
    def loss(p, b):
        return jnp.mean((b.x * p["w"] + p["b"] - b.y) ** 2)

    params = {"w": jnp.ones((1,)), "b": jnp.zeros((1,))}
    runs = []
    for presample in (True, False):
        trainer = maml.make_meta_trainer(
            maml.maml_objective(loss, lr=0.01), lambda k: sinusoid.sample_tasks(k, 4, 5, 5),
            optax.adam(1e-2), presample=presample)
        runs.append(trainer.run(trainer.init(jax.random.PRNGKey(0), params), 20))
    for a, b in zip(jax.tree.leaves(runs[0]), jax.tree.leaves(runs[1]), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)


def test_a_loss_with_accuracy_trains_as_without_and_reports_accuracy():
    # Two identical pools, the label readable from the first pixel: MAML with a loss that also
    # returns the query accuracy follows the plain loss's trajectory, and its metrics and
    # adaptation curve carry the accuracy, which rises from chance.
    net = Conv4(classes=3, filters=4, norm="none")

    def loss(p, b):
        return optax.softmax_cross_entropy_with_integer_labels(net.apply(p, b.x), b.y).mean()

    def loss_acc(p, b):
        logits = net.apply(p, b.x)
        acc = jnp.mean(jnp.argmax(logits, -1) == b.y)
        return optax.softmax_cross_entropy_with_integer_labels(logits, b.y).mean(), acc

    pool = _pool(classes=6, examples=4, size=8)
    sample = lambda k: fewshot.sample_tasks(k, pool, 4, 3, 1, 2)  # noqa: E731
    init = lambda k: net.init(k, jnp.zeros((1, 8, 8, 1)))  # noqa: E731
    plain = maml.make_meta_trainer(maml.maml_objective(loss, lr=0.4), sample, optax.adam(1e-2),
                                   init, presample=False)
    aux = maml.make_meta_trainer(maml.maml_objective(loss_acc, lr=0.4, has_aux=True), sample,
                                 optax.adam(1e-2), init, presample=False, has_aux=True)
    s1, m1 = plain.run(plain.init(jax.random.PRNGKey(0)), 30)
    s2, m2 = aux.run(aux.init(jax.random.PRNGKey(0)), 30)
    np.testing.assert_allclose(np.asarray(m1.loss), np.asarray(m2.loss), rtol=1e-5)
    assert m1.aux is None and m2.aux.shape == (30,)
    assert 0.0 <= float(m2.aux.min()) and float(m2.aux.max()) <= 1.0
    assert float(m2.aux[-10:].mean()) > float(m2.aux[:3].mean())
    task = jax.tree.map(lambda x: x[0], sample(jax.random.PRNGKey(9)))
    losses, accs = maml.adaptation_curve(loss_acc, s2.params, task.support, task.query, lr=0.4,
                                         steps=2, has_aux=True)
    assert losses.shape == accs.shape == (3,)
    np.testing.assert_allclose(losses, maml.adaptation_curve(
        loss, s1.params, task.support, task.query, lr=0.4, steps=2), rtol=1e-4)
