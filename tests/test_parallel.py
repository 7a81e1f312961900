"""The data mesh: marks that vanish without a mesh, and a run of two processes on this machine
that gives the numbers of one."""

import json
import os
import socket
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest

from adaptax import parallel
from adaptax.errors import ConfigError


def test_without_a_mesh_the_marks_are_the_identity():
    x = {"a": jnp.arange(6.0).reshape(3, 2), "b": jnp.ones(())}
    assert parallel.shard_batch(x) is x
    assert parallel.gather_batch(x) is x
    fn = lambda p, batch: batch["a"] * p  # noqa: E731
    np.testing.assert_array_equal(parallel.grouped(fn)(2.0, x), x["a"] * 2.0)
    one = parallel.data_mesh(1)
    assert parallel.on(one, fn) is fn and parallel.on(None, fn) is fn


def test_mesh_and_runtime_settings_fail_in_one_line(monkeypatch):
    with pytest.raises(ConfigError, match="xla_force_host_platform_device_count=64"):
        parallel.data_mesh(64)
    for name in (parallel.COORDINATOR_ENV, parallel.NUM_PROCESSES_ENV, parallel.PROCESS_ID_ENV):
        monkeypatch.delenv(name, raising=False)
    assert parallel.initialize() is False  # no coordinator: one process
    with pytest.raises(ConfigError, match="ADAPTAX_NUM_PROCESSES"):
        parallel.initialize("localhost:1234")
    monkeypatch.setenv(parallel.NUM_PROCESSES_ENV, "two")
    with pytest.raises(ConfigError, match="must be an integer"):
        parallel.initialize("localhost:1234", process_id=0)
    with pytest.raises(ConfigError, match="0 … n−1"):
        parallel.initialize("localhost:1234", num_processes=2, process_id=2)


_GROUPED = """
import jax, jax.numpy as jnp, numpy as np
from adaptax import parallel
assert jax.device_count() == 2
w = jnp.array([[0.5, -0.2], [0.1, 0.3]])
xs = jax.random.normal(jax.random.PRNGKey(0), (7, 8, 2))      # [T, B, features]

def unroll(w, xs):                                           # a scan over time
    def step(h, x):
        h = jnp.tanh(h @ w + x)
        return h, h
    return jax.lax.scan(step, jnp.zeros(xs.shape[1:]), xs)[1]

loss = lambda w, f: jnp.mean(f(w, xs) ** 2)  # noqa: E731
plain = jax.jit(jax.value_and_grad(lambda w: loss(w, unroll)))(w)
split = jax.jit(jax.value_and_grad(lambda w: loss(w, parallel.grouped(unroll, 1, 1))))
with jax.set_mesh(parallel.data_mesh(2)):
    value, grad = split(w)
np.testing.assert_allclose(value, plain[0], rtol=1e-6)
np.testing.assert_allclose(grad, plain[1], rtol=1e-5, atol=1e-7)
print("ok")
"""


def test_grouped_unroll_gives_the_value_and_gradient_of_the_whole_batch(on_host_devices):
    out = on_host_devices(_GROUPED, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


SMOKE = ["--preset", "smoke", "--set", "compare_agents=random,greedy"]


def _adaptax(args, env=None, wait=True):
    cmd = [sys.executable, "-m", "adaptax.cli", *args]
    env = {**os.environ, "ADAPTAX_NO_PROGRESS": "1", **(env or {})}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    if wait:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
    return proc


def _two_processes(args, tmp_path):
    port = _free_port()
    procs = [
        _adaptax([*args, "--coordinator", f"localhost:{port}", "--num-processes", "2",
                  "--process-id", str(i)],
                 env={"XLA_FLAGS": "--xla_force_host_platform_device_count=1",
                      "TMPDIR": str(tmp_path)}, wait=False)
        for i in range(2)]
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]


def test_two_processes_give_the_numbers_of_one_and_only_process_0_writes(tmp_path):
    # One process with one CPU device against two processes (localhost, gloo) of one device
    # each: the trials of every iteration are split across the processes.
    one, two = tmp_path / "one", tmp_path / "two"
    _adaptax(["run", "rl2-bandits", *SMOKE, "--set", "devices=1", "--out", str(one)])
    _two_processes(["run", "rl2-bandits", *SMOKE, "--set", "devices=0", "--out", str(two)],
                   tmp_path)
    a = json.loads((one / "results.json").read_text())
    b = json.loads((two / "results.json").read_text())
    assert b["provenance"]["process_count"] == 2 and b["train"]["devices"] == 2
    np.testing.assert_allclose(b["curve"]["trial_return"], a["curve"]["trial_return"],
                               rtol=1e-5)
    np.testing.assert_allclose(b["rl2"]["mean"], a["rl2"]["mean"], rtol=1e-5)
    # process 1 worked in a private folder and removed it; nothing else was written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "two"]
    # a resume on two processes reads the checkpoints on both and evaluates again
    _two_processes(["resume", str(two), "--evaluate"], tmp_path)
    c = json.loads((two / "results.json").read_text())
    np.testing.assert_allclose(c["rl2"]["mean"], b["rl2"]["mean"], rtol=1e-6)
