"""Checkpoints: round trip, atomic replacement, and refusal of corrupt or foreign files."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from adaptax.errors import CheckpointError
from adaptax.meta.maml import MetaTrainState
from adaptax.storage import checkpoint


def _state(seed=0):
    params = {"w": jax.random.normal(jax.random.PRNGKey(seed), (3, 2)), "b": jnp.arange(2.0)}
    opt = optax.adam(1e-3)
    return MetaTrainState(params, opt.init(params), jnp.array(7, jnp.int32),
                          jax.random.PRNGKey(seed + 1))


def test_round_trip_restores_every_leaf(tmp_path):
    state = _state()
    checkpoint.save(tmp_path, "maml", state, step=7, experiment="x")
    restored, step = checkpoint.load(tmp_path, "maml", _state(5), experiment="x")
    assert step == 7
    leaves = jax.tree_util.tree_leaves
    for a, b in zip(leaves(state), leaves(restored), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert type(restored) is MetaTrainState


def test_new_save_replaces_old_data_file(tmp_path):
    checkpoint.save(tmp_path, "p", _state(), step=1, experiment="x")
    checkpoint.save(tmp_path, "p", _state(1), step=2, experiment="x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p-2.msgpack", "p.json"]
    restored, step = checkpoint.load(tmp_path, "p", _state(), experiment="x")
    assert step == 2
    np.testing.assert_array_equal(restored.params["w"], _state(1).params["w"])


def test_corrupt_data_is_refused(tmp_path):
    checkpoint.save(tmp_path, "p", _state(), step=3, experiment="x")
    data = tmp_path / "p-3.msgpack"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="corrupt") as err:
        checkpoint.load(tmp_path, "p", _state(), experiment="x")
    # the message says what to do: delete both files and resume to retrain the phase
    assert f"delete {tmp_path / 'p.json'} and {data} and resume" in str(err.value)


def test_truncated_manifest_and_foreign_files_are_refused(tmp_path):
    checkpoint.save(tmp_path, "p", _state(), step=3, experiment="x")
    with pytest.raises(CheckpointError, match="belongs to experiment"):
        checkpoint.load(tmp_path, "p", _state(), experiment="y")
    manifest = tmp_path / "p.json"
    text = manifest.read_text()
    manifest.write_text(text[: len(text) // 2])
    with pytest.raises(CheckpointError, match="not a readable JSON"):
        checkpoint.load(tmp_path, "p", _state(), experiment="x")
    manifest.write_text(json.dumps({"hello": "world"}))
    with pytest.raises(CheckpointError, match="not an adaptax checkpoint"):
        checkpoint.load(tmp_path, "p", _state(), experiment="x")
    with pytest.raises(CheckpointError, match="does not exist"):
        checkpoint.load(tmp_path, "q", _state(), experiment="x")


def test_different_model_is_refused(tmp_path):
    checkpoint.save(tmp_path, "p", _state(), step=3, experiment="x")
    other = _state()._replace(params={"w": jnp.zeros((4, 2)), "b": jnp.zeros(2)})
    other = other._replace(opt_state=optax.adam(1e-3).init(other.params))
    with pytest.raises(CheckpointError, match="different model"):
        checkpoint.load(tmp_path, "p", other, experiment="x")


def test_a_checkpoint_of_another_training_config_is_refused(tmp_path):
    from adaptax.experiments.config import training_hash
    from adaptax.experiments.maml_sinusoid import EVAL_KEYS, SinusoidConfig

    ours, theirs = SinusoidConfig(seed=1), SinusoidConfig(seed=0, inner_lr=0.02)
    checkpoint.save(tmp_path, "p", _state(), step=3, experiment="x",
                    config_hash=training_hash(theirs, EVAL_KEYS))
    with pytest.raises(CheckpointError, match="another training config"):
        checkpoint.load(tmp_path, "p", _state(), experiment="x",
                        config_hash=training_hash(ours, EVAL_KEYS))
    # evaluation keys are not part of the hash: a run evaluated on more tasks still resumes
    more = SinusoidConfig(seed=0, inner_lr=0.02, eval_tasks=2000)
    _, step = checkpoint.load(tmp_path, "p", _state(), experiment="x",
                              config_hash=training_hash(more, EVAL_KEYS))
    assert step == 3
