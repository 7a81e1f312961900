"""A model state (BatchNorm's running statistics) through MAML's inner steps and meta-training."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from adaptax.meta import maml
from adaptax.nets.conv4 import Conv4
from adaptax.types import Batch, TaskBatch


def _loss(params, batch, state):
    """Squared error of w·x; the state is a running mean of the inputs seen (decay ½) and a
    count of forward passes."""
    x, y = batch
    value = jnp.mean((params["w"] * x - y) ** 2)
    new = {"mean": 0.5 * state["mean"] + 0.5 * jnp.mean(x), "passes": state["passes"] + 1}
    return value, {"x_mean": jnp.mean(x)}, new


def _plain(params, batch):
    return _loss(params, batch, {"mean": 0.0, "passes": 0})[0]


def test_the_state_passes_through_each_inner_step_and_the_query():
    params = {"w": jnp.array(0.3)}
    support = (jnp.array([1.0, 2.0]), jnp.array([2.0, 4.0]))
    query = (jnp.array([3.0, 5.0]), jnp.array([6.0, 10.0]))
    state = {"mean": jnp.array(0.0), "passes": jnp.array(0)}
    adapted, after = maml.adapt(_loss, params, support, lr=0.1, steps=3, state=state,
                                has_state=True)
    # the same parameters as without a state; three forward passes on the support
    np.testing.assert_allclose(adapted["w"], maml.adapt(_plain, params, support, lr=0.1,
                                                         steps=3)["w"], rtol=1e-6)
    assert int(after["passes"]) == 3
    np.testing.assert_allclose(after["mean"], 1.5 * (1 - 0.5**3), rtol=1e-6)
    value, aux, final = maml.meta_loss(_loss, params, support, query, lr=0.1, steps=3,
                                       state=state, has_state=True)
    assert int(final["passes"]) == 4 and float(aux["x_mean"]) == 4.0
    np.testing.assert_allclose(final["mean"], 0.5 * after["mean"] + 0.5 * 4.0, rtol=1e-6)
    # the meta-gradient is the stateless one (the state is not differentiated through)
    grad = jax.grad(lambda p: maml.meta_loss(_loss, p, support, query, lr=0.1, steps=3,
                                             state=state, has_state=True)[0])(params)
    want = jax.grad(lambda p: maml.meta_loss(_plain, p, support, query, lr=0.1, steps=3))(params)
    np.testing.assert_allclose(grad["w"], want["w"], rtol=1e-6)


def test_the_trainer_keeps_the_mean_of_the_meta_batchs_new_states():
    xs = jnp.arange(1.0, 5.0)[:, None] * jnp.ones((4, 3))  # task i's inputs are all i + 1

    def sample(key):
        del key
        return TaskBatch(Batch(xs, 2 * xs), Batch(xs, 2 * xs))

    objective = maml.maml_objective(_loss, lr=0.1, steps=1, has_state=True)
    trainer = maml.make_meta_trainer(objective, sample, optax.sgd(0.01), presample=False,
                                     has_aux=True, has_state=True)
    with pytest.raises(ValueError, match="model_state"):
        trainer.init(jax.random.PRNGKey(0), {"w": jnp.array(0.0)})
    state = trainer.init(jax.random.PRNGKey(0), {"w": jnp.array(0.0)},
                         {"mean": jnp.array(0.0), "passes": jnp.array(0.0)})
    state, metrics = trainer.run(state, 2)
    # per task, one iteration takes the mean through 0 → (i+1)/2 → 3(i+1)/4 (support, query);
    # averaged over tasks i + 1 = 1…4: 3·2.5/4; the second iteration starts from that mean
    first = 0.75 * 2.5
    np.testing.assert_allclose(state.model_state["mean"], 0.25 * first + 0.75 * 2.5, rtol=1e-6)
    assert float(state.model_state["passes"]) == 4.0
    np.testing.assert_allclose(metrics.aux["x_mean"], [2.5, 2.5])


def test_conv4_running_statistics_are_a_model_state():
    net = Conv4(classes=3, filters=4, norm="running")
    x = jax.random.normal(jax.random.PRNGKey(0), (6, 28, 28, 1)) * 3 + 1
    variables = net.init(jax.random.PRNGKey(1), x)
    assert set(variables) == {"params", "batch_stats"}
    logits, new = net.apply(variables, x, train=True, mutable=["batch_stats"])
    moved = jax.tree.leaves(jax.tree.map(lambda a, b: jnp.abs(a - b).max(),
                                         new["batch_stats"], variables["batch_stats"]))
    assert max(float(m) for m in moved) > 1e-3
    # at test each image is classified on its own: the same logits alone or in a batch
    test = {**variables, "batch_stats": new["batch_stats"]}
    alone = net.apply(test, x[:1], train=False)
    np.testing.assert_allclose(alone, net.apply(test, x, train=False)[:1], rtol=1e-4,
                               atol=1e-5)
    # while the transductive network's output for an image depends on the rest of the batch
    batch_net = Conv4(classes=3, filters=4)
    p = batch_net.init(jax.random.PRNGKey(1), x)
    assert not np.allclose(batch_net.apply(p, x[:2])[:1], batch_net.apply(p, x)[:1], atol=1e-4)
    assert logits.shape == (6, 3)


_TWO_DEVICES = """
import jax, jax.numpy as jnp, numpy as np, optax
from adaptax import parallel
from adaptax.meta import maml
from adaptax.nets.conv4 import Conv4
from adaptax.types import Batch, TaskBatch
assert jax.device_count() == 2
net = Conv4(classes=2, filters=4, norm="running")
x = jax.random.normal(jax.random.PRNGKey(0), (4, 8, 28, 28, 1))
y = jnp.tile(jnp.arange(2), (4, 4))

def sample(key):
    noise = 0.1 * jax.random.normal(key, x.shape)
    return TaskBatch(Batch(x + noise, y), Batch(x - noise, y))

def loss(params, batch, stats):
    logits, new = net.apply({"params": params["params"], "batch_stats": stats}, batch.x,
                            train=True, mutable=["batch_stats"])
    xent = optax.softmax_cross_entropy_with_integer_labels(logits, batch.y).mean()
    return xent, {"accuracy": jnp.mean(jnp.argmax(logits, -1) == batch.y)}, new["batch_stats"]

v = net.init(jax.random.PRNGKey(1), x[0])
# SGD: Adam would blow the convolutions' biases' gradients (zero before a BatchNorm, up to
# rounding) up to full steps whose signs follow the rounding of each device layout
trainer = maml.make_meta_trainer(maml.maml_objective(loss, lr=0.1, has_state=True), sample,
                                 optax.sgd(0.1), presample=False, has_aux=True, has_state=True)
start = trainer.init(jax.random.PRNGKey(2), {"params": v["params"]}, v["batch_stats"])
one = trainer.run(start, 3)
two = parallel.on(parallel.data_mesh(2), trainer.run)(start, 3)
for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(two)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)
moved = jax.tree.leaves(jax.tree.map(lambda a, b: jnp.abs(a - b).max(), one[0].params,
                                     start.params))
assert max(float(m) for m in moved) > 1e-4
print("ok")
"""


def test_meta_training_split_over_two_devices_gives_the_numbers_of_one(on_host_devices):
    # the meta-batch (4 tasks) split across 2 host devices, running BatchNorm statistics
    # included; XLA_FLAGS must be set before JAX starts, hence a fresh interpreter
    out = on_host_devices(_TWO_DEVICES)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "ok"
