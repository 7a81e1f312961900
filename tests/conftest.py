"""Shared test fixtures."""

import os
import subprocess
import sys

import pytest


@pytest.fixture
def on_host_devices():
    """``run(code, devices=2, timeout=600)``: Python ``code`` in a fresh interpreter that sees
    ``devices`` CPU host devices (XLA_FLAGS must be set before JAX starts); returns the
    finished process (check its ``returncode`` and ``stdout``)."""

    def run(code: str, devices: int = 2, timeout: int = 600) -> subprocess.CompletedProcess:
        env = {**os.environ,
               "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, timeout=timeout)

    return run
