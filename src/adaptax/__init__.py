"""adaptax: meta-learning in JAX — MAML and RL² reproduced, fast on a CPU and on accelerators.

The curated public API::

    import adaptax
    adaptax.maml.adapt(loss, params, batch, lr=0.01)          # inner loop
    adaptax.maml.meta_loss(loss, params, support, query, lr=0.01)
    adaptax.maml.make_meta_trainer(objective, sample_tasks, optax.adam(1e-3))

    adaptax.envs.make("tabular-mdp"); adaptax.envs.Trial(env, episodes=10)   # gymnax API

Experiments run from the command line: ``adaptax list``, ``adaptax run maml-sinusoid``.
"""

import sys as _sys

from adaptax import envs
from adaptax.errors import AdaptaxError, CheckpointError, ConfigError, TrainingDiverged
from adaptax.meta import maml, pretrain
from adaptax.storage import checkpoint
from adaptax.storage.runs import RunDir
from adaptax.types import Batch, TaskBatch

# `import adaptax.maml` and `from adaptax.maml import adapt` work as well as `adaptax.maml.adapt`.
_sys.modules[__name__ + ".maml"] = maml

__version__ = "0.1.0"

__all__ = [
    "AdaptaxError",
    "Batch",
    "CheckpointError",
    "ConfigError",
    "RunDir",
    "TaskBatch",
    "TrainingDiverged",
    "checkpoint",
    "envs",
    "maml",
    "pretrain",
]
