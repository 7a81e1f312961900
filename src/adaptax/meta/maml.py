"""Model-agnostic meta-learning (Finn, Abbeel & Levine, ICML 2017) over any loss and params pytree.

The core never sees a model class: a model is a loss function ``loss(params, batch) -> scalar`` over
any pytree of parameters, so a Flax module's ``apply``, an Equinox module or a hand-written function
over a dict of arrays all plug in unchanged.

Public API (also exported as ``adaptax.maml``):

* :func:`adapt` — ``steps`` gradient-descent steps on a support batch (the inner loop, Eq. 1).
* :func:`meta_loss` — the query loss after adapting on the support batch; its ``jax.grad`` is the
  MAML meta-gradient for one task, exact through the inner steps or first-order.
* :func:`make_meta_trainer` — a :class:`~adaptax.types.Learner` that vmaps a per-task
  objective over a meta-batch of tasks sampled inside the compiled step, applies an optax
  optimiser, and runs many iterations per dispatch under ``lax.scan`` over a named
  :class:`MetaTrainState`.

A loss may also return an aux (``has_aux``: ``(value, aux)``, e.g. accuracy) and carry a model
state that is not learned by gradient, such as BatchNorm's running statistics (``has_state``:
``loss(params, batch, state) -> (value, aux, new_state)``, aux possibly ``None``). The state
passes through the inner steps (each step's forward pass updates it) and into the query loss;
the trainer keeps it in :class:`MetaTrainState` and sets it to the mean of the meta-batch's
new states after every iteration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from adaptax.parallel import shard_batch
from adaptax.types import Learner, Params, PRNGKey, PyTree

LossFn = Callable[[Params, Any], jax.Array]


def _scale(lr: float | PyTree, grads: PyTree) -> PyTree:
    """``lr * grads`` with ``lr`` a scalar or a pytree shaped like ``grads``."""
    if jax.tree_util.treedef_is_leaf(jax.tree_util.tree_structure(lr)):
        return jax.tree_util.tree_map(lambda g: lr * g, grads)
    return jax.tree_util.tree_map(lambda a, g: a * g, lr, grads)


def _grad(loss: LossFn, has_aux: bool) -> Callable[[Params, Any], PyTree]:
    """The gradient of ``loss`` in its parameters (an aux output dropped)."""
    if not has_aux:
        return jax.grad(loss)
    grad = jax.grad(loss, has_aux=True)
    return lambda p, batch: grad(p, batch)[0]


def _state_grad(loss: Callable[..., Any]) -> Callable[[Params, Any, Any], tuple[PyTree, Any]]:
    """``(params, batch, state) -> (∇params loss, new_state)`` for a loss with a model state."""
    grad = jax.grad(lambda p, b, s: (lambda v, a, n: (v, n))(*loss(p, b, s)), has_aux=True)
    return lambda p, batch, state: grad(p, batch, state)


def adapt(
    loss: LossFn,
    params: Params,
    batch: Any,
    *,
    lr: float | PyTree,
    steps: int = 1,
    first_order: bool = False,
    has_aux: bool = False,
    state: Any = None,
    has_state: bool = False,
) -> Any:
    """Adapts ``params`` to one task by ``steps`` steps of gradient descent on ``batch``.

    The MAML inner update (Finn et al. 2017, Eq. 1), repeated::

        θ₀ = θ,   θⱼ₊₁ = θⱼ − α ⊙ ∇θ L(θⱼ; batch),   returns θ_steps.

    Gradients flow through every step, so ``jax.grad`` of a function of the result is exact
    (second order). With ``first_order=True`` each inner gradient is a constant
    (``stop_gradient``), which gives first-order MAML's meta-gradient (§5.2).

    Args:
      loss: ``loss(params, batch) -> scalar``.
      params: any pytree of arrays.
      batch: the support data, passed to ``loss`` as is.
      lr: the inner step size α — a float, or a pytree shaped like ``params`` for per-parameter
        rates (Meta-SGD, Li et al. 2017: make it part of what you differentiate).
      steps: number of inner steps (a Python int ≥ 0; 0 returns ``params``).
      first_order: treat the inner gradients as constants.
      has_aux: ``loss`` returns ``(scalar, aux)`` (e.g. accuracy); the aux is ignored here.
      state: the model state at the start (with ``has_state``).
      has_state: ``loss(params, batch, state) -> (scalar, aux, new_state)``; each step's
        forward pass updates the state, which is not differentiated through.

    Returns:
      The adapted parameters, a pytree shaped like ``params``; with ``has_state``,
      ``(params, state)``.

    Example::

      >>> loss = lambda p, b: jnp.mean((p["w"] * b[0] - b[1]) ** 2)
      >>> adapt(loss, {"w": jnp.array(0.0)}, (jnp.ones(3), jnp.ones(3)), lr=0.1)
      {'w': Array(0.2, dtype=float32, weak_type=True)}
    """
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"adapt: steps must be an int >= 0, got {steps!r}")
    if has_state:
        state_grad = _state_grad(loss)
        for _ in range(steps):
            g, state = state_grad(params, batch, state)
            state = jax.lax.stop_gradient(state)
            if first_order:
                g = jax.lax.stop_gradient(g)
            params = jax.tree_util.tree_map(jnp.subtract, params, _scale(lr, g))
        return params, state
    grad_fn = _grad(loss, has_aux)

    def one_step(p: Params) -> Params:
        g = grad_fn(p, batch)
        if first_order:
            g = jax.lax.stop_gradient(g)
        return jax.tree_util.tree_map(jnp.subtract, p, _scale(lr, g))

    for _ in range(steps):  # steps is small and static: unrolling lets XLA fuse across steps
        params = one_step(params)
    return params


def meta_loss(
    loss: LossFn,
    params: Params,
    support: Any,
    query: Any,
    *,
    lr: float | PyTree,
    steps: int = 1,
    first_order: bool = False,
    has_aux: bool = False,
    state: Any = None,
    has_state: bool = False,
) -> Any:
    """The MAML objective for one task: query loss after adapting on the support batch.

    L_meta(θ) = L(θ'; query),  θ' = adapt(θ; support)   (Finn et al. 2017, Eq. 2 for one task).

    ``jax.grad(meta_loss, argnums=1)`` is the MAML meta-gradient ∇θ L(θ'; query), exact through
    the inner steps, or first-order when ``first_order=True``.

    Args:
      loss: ``loss(params, batch) -> scalar``.
      params: the meta-parameters θ (any pytree).
      support: the task's adaptation batch.
      query: the task's evaluation batch.
      lr, steps, first_order, has_aux, state, has_state: as in :func:`adapt`.

    Returns:
      A scalar; with ``has_aux``, ``(scalar, aux)`` of the query batch; with ``has_state``,
      ``(scalar, aux, new_state)``, the state after the inner steps and the query pass.

    Example::

      >>> loss = lambda p, b: jnp.mean((p["w"] * b[0] - b[1]) ** 2)
      >>> support = query = (jnp.ones(3), jnp.ones(3))
      >>> g = jax.grad(meta_loss, argnums=1)(loss, {"w": jnp.array(0.0)}, support, query, lr=0.1)
      >>> round(float(g["w"]), 4)      # 2(w' − 1) · dw'/dw = 2 · (0.2 − 1) · (1 − 2α)
      -1.28
    """
    if has_state:
        adapted, state = adapt(loss, params, support, lr=lr, steps=steps,
                               first_order=first_order, state=state, has_state=True)
        value, aux, state = loss(adapted, query, state)
        return value, aux, jax.lax.stop_gradient(state)
    adapted = adapt(loss, params, support, lr=lr, steps=steps, first_order=first_order,
                    has_aux=has_aux)
    return loss(adapted, query)


def maml_objective(
    loss: LossFn, *, lr: float | PyTree, steps: int = 1, first_order: bool = False,
    has_aux: bool = False, has_state: bool = False,
) -> Callable[..., Any]:
    """A per-task objective ``(params, task) -> scalar`` for :func:`make_meta_trainer`
    (``has_state``: ``(params, task, state) -> (scalar, aux, new_state)``).

    ``task`` has ``support`` and ``query`` attributes (e.g. :class:`adaptax.types.TaskBatch`) or
    is a ``(support, query)`` tuple. ``lr`` is fixed; to learn per-parameter rates (Meta-SGD),
    keep them in the parameters and write the objective yourself:
    ``lambda p, task: meta_loss(loss, p["net"], task.support, task.query, lr=p["lr"])``.
    """

    if has_state:
        def with_state(params: Params, task: Any, state: Any) -> Any:
            support, query = support_and_query(task)
            return meta_loss(loss, params, support, query, lr=lr, steps=steps,
                             first_order=first_order, state=state, has_state=True)

        return with_state

    def objective(params: Params, task: Any) -> Any:
        support, query = support_and_query(task)
        return meta_loss(loss, params, support, query, lr=lr, steps=steps,
                         first_order=first_order, has_aux=has_aux)

    return objective


def support_and_query(task: Any) -> tuple[Any, Any]:
    """A task's ``(support, query)``: its attributes, or the task itself as a pair.

    Example:
      >>> support_and_query(("s", "q"))
      ('s', 'q')
    """
    if hasattr(task, "support") and hasattr(task, "query"):
        return task.support, task.query
    if isinstance(task, tuple) and len(task) == 2:
        return task[0], task[1]
    raise TypeError(
        "a MAML task needs .support and .query (adaptax.TaskBatch) or must be a (support, query) "
        f"tuple; got {type(task).__name__}")


class MetaTrainState(NamedTuple):
    """Everything a meta-training run carries from one iteration to the next."""

    params: Params
    opt_state: optax.OptState
    step: jax.Array  # number of meta-iterations done
    key: PRNGKey
    model_state: Any = None  # with has_state: e.g. BatchNorm's running statistics


class MetaMetrics(NamedTuple):
    """Per-iteration metrics, stacked over a chunk by the learner's ``run``."""

    loss: jax.Array  # mean objective over the meta-batch, before the update
    grad_norm: jax.Array
    aux: Any = None  # with has_aux: the objective's aux averaged over the meta-batch


def make_meta_trainer(
    objective: Callable[[Params, Any], jax.Array],
    sample_tasks: Callable[[PRNGKey], Any],
    optimizer: optax.GradientTransformation,
    init_params: Callable[[PRNGKey], Params] | None = None,
    presample: bool = True,
    has_aux: bool = False,
    has_state: bool = False,
) -> Learner:
    """Builds MAML's meta-training as a :class:`~adaptax.types.Learner`.

    Each iteration samples a meta-batch of tasks inside the compiled step, vmaps the per-task
    ``objective`` over it, averages, differentiates and applies the optax optimiser (called
    under `adaptax.parallel.on`, the meta-batch is split across the mesh's devices and the
    parameters replicated, with the same numbers)::

        θ ← θ − β ∇θ (1/B) Σᵢ objective(θ, Tᵢ)      (Finn et al. 2017, Alg. 1/2, with Adam)

    ``init(key, params=None)`` returns a :class:`MetaTrainState` (parameters ``params``, or
    ``init_params(key)`` when none are given; ``key`` also starts the task stream).
    ``run(state, n)`` scans ``n`` iterations in one dispatch and returns per-iteration
    :class:`MetaMetrics`; called again with the same ``n`` it does not recompile.

    Args:
      objective: per-task objective ``(params, task) -> scalar`` — e.g. :func:`maml_objective`,
        or a plain regression loss for a pretrained baseline.
      sample_tasks: ``key -> tasks``, a pytree whose leaves have a leading meta-batch axis; the
        objective is vmapped over it.
      optimizer: any optax transformation (the paper: ``optax.adam(1e-3)``).
      init_params: ``key -> params`` (e.g. ``lambda k: net.init(k, x0)``), used by ``init``
        when it is not given parameters.
      presample: ``run`` draws every iteration's tasks of a chunk in one vectorised call before
        the scan (fastest for small tasks such as sinusoids); ``False`` draws them inside each
        iteration, so a chunk never holds more than one meta-batch (images). The same keys,
        hence the same tasks and numbers, either way.
      has_aux: ``objective`` returns ``(scalar, aux)``, e.g. ``maml_objective(...,
        has_aux=True)`` over a loss that also returns the query accuracy; the metrics carry
        the aux averaged over the meta-batch (``MetaMetrics.aux``).
      has_state: ``objective(params, task, state) -> (scalar, aux, new_state)``
        (``maml_objective(..., has_state=True)``); ``init(key, params, model_state)`` takes
        the first state, and after each iteration the state is the mean of the meta-batch's
        new states.

    Returns:
      A :class:`~adaptax.types.Learner`.

    Example::

      >>> trainer = make_meta_trainer(maml_objective(loss, lr=0.01), sampler,
      ...                             optax.adam(1e-3), init_params)  # doctest: +SKIP
      >>> state = trainer.init(jax.random.PRNGKey(0))  # doctest: +SKIP
      >>> state, metrics = trainer.run(state, 1000)  # doctest: +SKIP
    """

    def mean(tree: Any) -> Any:
        return jax.tree.map(lambda a: jnp.mean(a, axis=0), tree)

    def batch_objective(params: Params, tasks: Any, model_state: Any) -> tuple[jax.Array, Any]:
        tasks = shard_batch(tasks)  # under `parallel.on(mesh, …)`: split across the devices
        if has_state:
            values, aux, new = jax.vmap(objective, in_axes=(None, 0, None))(params, tasks,
                                                                             model_state)
            return jnp.mean(values), (mean(aux), mean(new))
        out = jax.vmap(objective, in_axes=(None, 0))(params, tasks)
        values, aux = out if has_aux else (out, None)
        return jnp.mean(values), (mean(aux), model_state)

    def init(key: PRNGKey, params: Params | None = None,
             model_state: Any = None) -> MetaTrainState:
        if params is None:
            if init_params is None:
                raise ValueError("init needs params, or build the trainer with init_params")
            params = init_params(key)
        if has_state and model_state is None:
            raise ValueError("a trainer with has_state needs init(key, params, model_state)")
        return MetaTrainState(params, optimizer.init(params), jnp.zeros((), jnp.int32), key,
                              model_state)

    def update(state: MetaTrainState, tasks: Any, key: PRNGKey) -> tuple[MetaTrainState,
                                                                         MetaMetrics]:
        (value, (aux, model_state)), grads = jax.value_and_grad(
            batch_objective, has_aux=True)(state.params, tasks, state.model_state)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        metrics = MetaMetrics(value, optax.tree.norm(grads), aux)
        return MetaTrainState(params, opt_state, state.step + 1, key, model_state), metrics

    def step(state: MetaTrainState) -> tuple[MetaTrainState, MetaMetrics]:
        key, task_key = jax.random.split(state.key)
        return update(state, sample_tasks(task_key), key)

    def _run(state: MetaTrainState, num_iters: int) -> tuple[MetaTrainState, MetaMetrics]:
        if not presample:
            return jax.lax.scan(lambda s, _: step(s), state, None, length=num_iters)
        # The same key chain as `step`, but every iteration's tasks are drawn up front in one
        # vectorised call: many small PRNG calls cost more than the meta-gradient on a CPU.
        def next_keys(key, _):
            key, task_key = jax.random.split(key)
            return key, (key, task_key)

        _, (keys, task_keys) = jax.lax.scan(next_keys, state.key, None, length=num_iters)
        tasks = jax.vmap(sample_tasks)(task_keys)
        return jax.lax.scan(lambda s, x: update(s, x[0], x[1]), state, (tasks, keys))

    run = jax.jit(_run, static_argnums=1)
    return Learner(init=init, run=run)


def adaptation_curve(
    loss: LossFn,
    params: Params,
    support: Any,
    query: Any,
    *,
    lr: float | PyTree,
    steps: int,
    later_lr: float | PyTree | None = None,
    has_aux: bool = False,
) -> Any:
    """Query loss after 0, 1, …, ``steps`` inner steps on ``support`` (one task; vmap for many).

    This is the evaluation protocol of the MAML code: adapt on the same K support points step
    by step and record the query loss after each step.

    Args:
      loss, params, support, query: as in :func:`meta_loss`.
      lr: the step size of the first step.
      steps: the number of steps (≥ 0).
      later_lr: the step size of steps 2, 3, … (default: ``lr``).
      has_aux: ``loss`` returns ``(scalar, aux)``.

    Returns:
      An array ``[steps + 1]``: entry j is the query loss after j steps; with ``has_aux``,
      ``(losses, aux)`` with the aux of every step stacked the same way (e.g. accuracy).
    """
    grad_fn = _grad(loss, has_aux)
    later = lr if later_lr is None else later_lr
    outs = [loss(params, query)]
    for j in range(steps):
        g = grad_fn(params, support)
        params = jax.tree_util.tree_map(jnp.subtract, params, _scale(lr if j == 0 else later, g))
        outs.append(loss(params, query))
    return jax.tree.map(lambda *xs: jnp.stack(xs), *outs)
