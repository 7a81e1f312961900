"""Scale-out in one place: a 1-D data mesh over every device of every process.

The learners are written for one batch on one device. An experiment that wants more devices
builds a mesh with :func:`data_mesh` and calls its learner's functions under :func:`on`; inside,
a learner marks the leading axis of the batches it draws (tasks, environments, trials) with
:func:`shard_batch`, and XLA splits that axis across the mesh, keeps the parameters replicated
and inserts the cross-device means. Without a mesh :func:`shard_batch` is the identity, so the
same code runs on one CPU, on host devices of a CPU
(``XLA_FLAGS=--xla_force_host_platform_device_count=N``), on one GPU, on many, and on many hosts
after :func:`initialize`. Random draws do not depend on the sharding, so a run gives the same
numbers on any number of devices, up to the order of floating-point sums.

Example::

  >>> mesh = data_mesh()                       # every device of every process
  >>> run = on(mesh, learner.run)              # doctest: +SKIP
  >>> state, metrics = run(state, 100)         # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from adaptax.errors import ConfigError

BATCH_AXIS = "data"  # the name of the mesh's one axis
# devices = 0 (auto) on a CPU: 2 host devices, the `default` presets' 2 cores.
AUTO_HOST_DEVICES = 2
# jax.distributed settings from the environment (`initialize`), as SLURM scripts export them.
COORDINATOR_ENV = "ADAPTAX_COORDINATOR"
NUM_PROCESSES_ENV = "ADAPTAX_NUM_PROCESSES"
PROCESS_ID_ENV = "ADAPTAX_PROCESS_ID"

F = TypeVar("F", bound=Callable[..., Any])


def initialize(coordinator: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> bool:
    """Joins a multi-process run (``jax.distributed.initialize``) before JAX starts a backend.

    Each argument left out is read from ``ADAPTAX_COORDINATOR`` (``host:port`` of process 0),
    ``ADAPTAX_NUM_PROCESSES`` and ``ADAPTAX_PROCESS_ID``. With no coordinator anywhere this is
    a single-process run and nothing happens. On a CPU the processes exchange data over gloo.

    Returns:
      True when this process joined a multi-process run.
    """
    coordinator = coordinator or os.environ.get(COORDINATOR_ENV) or None
    if coordinator is None:
        return False
    num = num_processes if num_processes is not None else _env_int(NUM_PROCESSES_ENV)
    index = process_id if process_id is not None else _env_int(PROCESS_ID_ENV)
    if num is None or index is None or num < 1 or not 0 <= index < num:
        raise ConfigError(
            f"a multi-process run needs the number of processes and this process's id "
            f"(0 … n−1) beside the coordinator {coordinator}: set {NUM_PROCESSES_ENV} and "
            f"{PROCESS_ID_ENV} (or --num-processes and --process-id)")
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=coordinator, num_processes=num,
                               process_id=index)
    return True


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {value!r}") from None


def request_host_devices(count: int) -> None:
    """On a CPU, asks XLA for ``count`` host devices unless ``XLA_FLAGS`` already sets a number.

    XLA reads the flag when JAX first starts its backend, so call this before any JAX
    computation (``adaptax run`` does it from the config's ``host_devices``).
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if count > 1 and "xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}"


def auto_devices(fits: Callable[[int], bool] = lambda count: True) -> int:
    """The devices ``devices = 0`` (auto) means: every device of every process on an
    accelerator, at most `AUTO_HOST_DEVICES` per process on a CPU, the largest count not above
    that for which ``fits`` (e.g. "divides the batch") holds; at least 1."""
    count = jax.device_count()
    if jax.default_backend() == "cpu":
        count = min(jax.local_device_count(), AUTO_HOST_DEVICES) * jax.process_count()
    while count > 1 and not fits(count):
        count -= 1
    return count


def data_mesh(devices: int = 0) -> Mesh:
    """A 1-D mesh (axis `BATCH_AXIS`) over the first ``devices`` devices of all processes.

    ``devices = 0`` takes every device. A multi-process mesh must hold every process's devices
    alike, so there ``devices`` must be 0 or the total count.
    """
    available = jax.devices()
    count = devices or len(available)
    if count > len(available):
        raise ConfigError(
            f"devices={count} but JAX sees {len(available)} device(s); on a CPU start Python "
            f"with XLA_FLAGS=--xla_force_host_platform_device_count={count} "
            "(adaptax run does it)")
    if jax.process_count() > 1 and count != len(available):
        raise ConfigError(
            f"devices={count} in a run of {jax.process_count()} processes with "
            f"{len(available)} devices in all: set devices=0 (every device)")
    return Mesh(np.array(available[:count]), (BATCH_AXIS,),
                axis_types=(jax.sharding.AxisType.Auto,))


def on(mesh: Mesh | None, fn: F) -> F:
    """``fn`` called under ``mesh`` (its `shard_batch` marks split across it); with no mesh or a
    one-device mesh, ``fn`` itself. Array arguments are copied to every device of the mesh; in a
    multi-process run the results come back whole on every process (`whole`)."""
    if mesh is None or mesh.size == 1:
        return fn

    def call(*args: Any, **kwargs: Any) -> Any:
        with jax.set_mesh(mesh):
            out = fn(*replicate(mesh, args), **kwargs)
        return whole(mesh, out) if jax.process_count() > 1 else out

    for name in ("compiled",):  # what tests read off a learner's run
        if hasattr(fn, name):
            setattr(call, name, getattr(fn, name))
    return call  # type: ignore[return-value]


def replicate(mesh: Mesh, tree: Any) -> Any:
    """``tree``'s arrays copied to every device of ``mesh`` (those already there are kept)."""
    sharding = NamedSharding(mesh, PartitionSpec())

    def put(x: Any) -> Any:
        if isinstance(x, jax.Array) and x.sharding.device_set == sharding.device_set:
            return x
        if isinstance(x, (jax.Array, np.ndarray, np.generic)):
            if jax.process_count() > 1:  # every process holds the same value
                return jax.make_array_from_process_local_data(sharding, np.asarray(x))
            return jax.device_put(x, sharding)
        return x

    return jax.tree.map(put, tree)


def whole(mesh: Mesh, tree: Any) -> Any:
    """``tree``'s arrays held whole by every process (an all-gather where they are split), so
    that each process can read them, e.g. per-instance scores or a checkpoint's state."""
    sharding = NamedSharding(mesh, PartitionSpec())

    def gather(x: Any) -> Any:
        if not isinstance(x, jax.Array) or x.is_fully_replicated:
            return x
        return jax.jit(lambda y: y, out_shardings=sharding)(x)

    return jax.tree.map(gather, tree)


def _data_size() -> int:
    """The size of the data axis of the mesh in use (1 outside `on`)."""
    mesh = jax.sharding.get_abstract_mesh()
    return 1 if mesh.empty or BATCH_AXIS not in mesh.axis_names else mesh.shape[BATCH_AXIS]


def shard_batch(tree: Any, axis: int = 0) -> Any:
    """Marks batch axis ``axis`` of every array in ``tree`` as split across the mesh in use.

    The identity outside :func:`on` (no mesh), on a one-device mesh, and for arrays whose
    batch axis the mesh does not divide.
    """
    size = _data_size()
    if size == 1:
        return tree

    def mark(x: Any) -> Any:
        if getattr(x, "ndim", 0) <= axis or x.shape[axis] % size:
            return x
        spec = PartitionSpec(*([None] * axis), BATCH_AXIS)
        return jax.lax.with_sharding_constraint(x, spec)

    return jax.tree.map(mark, tree)


def gather_batch(tree: Any) -> Any:
    """Marks every array in ``tree`` as held whole on every device of the mesh in use (an
    all-gather): for a batch read many times in random order, e.g. PPO's minibatches. The
    identity without a mesh."""
    if _data_size() == 1:
        return tree
    return jax.tree.map(lambda x: jax.lax.with_sharding_constraint(x, PartitionSpec()), tree)


def grouped(fn: F, batch_axis: int = 0, out_axis: int = 0) -> F:
    """``fn(params, batch)`` evaluated on one group of the batch per device, with the same result.

    Under a mesh of D devices the batch's axis ``batch_axis`` is split into D groups, ``params``
    copied once per group and ``fn`` vmapped over the groups; the outputs are joined back along
    ``out_axis``. The value is ``fn``'s, but a gradient with respect to ``params`` is summed
    within each device and across devices once at the end. Use it around a recurrent unroll:
    differentiated directly, a scan over time over a batch split across devices sums the weight
    gradient across devices at every time step. Without a mesh (or on one device) it is ``fn``.
    """

    def call(params: Any, batch: Any) -> Any:
        groups = _data_size()
        if groups == 1 or any(jnp.ndim(x) <= batch_axis or x.shape[batch_axis] % groups
                              for x in jax.tree.leaves(batch)):
            return fn(params, batch)

        def split(x: Any) -> Any:
            shape = (*x.shape[:batch_axis], groups, x.shape[batch_axis] // groups,
                     *x.shape[batch_axis + 1:])
            return jnp.moveaxis(x.reshape(shape), batch_axis, 0)

        def join(x: Any) -> Any:
            x = jnp.moveaxis(x, 0, out_axis)
            return x.reshape(*x.shape[:out_axis], -1, *x.shape[out_axis + 2:])

        copies = jax.tree.map(lambda x: jnp.broadcast_to(x, (groups, *jnp.shape(x))), params)
        parts = jax.vmap(fn)(shard_batch(copies), shard_batch(jax.tree.map(split, batch)))
        return jax.tree.map(join, parts)

    return call  # type: ignore[return-value]


def is_writer() -> bool:
    """Whether this process writes the run folder and checkpoints (process 0 only)."""
    return jax.process_index() == 0
