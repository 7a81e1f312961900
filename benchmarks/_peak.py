"""The machine's float32 matmul peak, measured in the same run as each benchmark."""

import time

import jax
import jax.numpy as jnp
import numpy as np


def peak_size() -> int:
    """1024 on a CPU; 8192 on an accelerator, where a 1024² product is mostly dispatch time."""
    return 1024 if jax.default_backend() == "cpu" else 8192


def matmul_peak(n: int = 0, repeats: int = 20) -> float:
    """Median float32 FLOP/s (default precision) of a jitted n×n matmul (2n³ FLOPs), all cores;
    n = 0: `peak_size()`."""
    n = n or peak_size()
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f(a).block_until_ready()
        times.append(time.perf_counter() - t)
    return 2 * n**3 / float(np.median(times))
