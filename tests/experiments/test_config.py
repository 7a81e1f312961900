"""Config validation and --set parsing: every bad value gets one clear line."""

import pytest

from adaptax.errors import ConfigError
from adaptax.experiments import config as cfg
from adaptax.experiments import registry
from adaptax.experiments.maml_sinusoid import SinusoidConfig


def test_presets_and_overrides():
    exp = registry.get("maml-sinusoid")
    assert exp.make_config("paper").iterations == 70_000
    c = exp.make_config("default", cfg.parse_sets(SinusoidConfig, [
        "inner_lr=0.02", "eval_k=5,10", "hidden=64,64,64", "methods=maml,oracle"]))
    assert c.inner_lr == 0.02 and c.eval_k == (5, 10) and c.hidden == (64, 64, 64)
    assert c.methods == ("maml", "oracle")
    assert cfg.from_dict(SinusoidConfig, cfg.to_dict(c)) == c


@pytest.mark.parametrize("item, message", [
    ("inner_lr=-0.1", "inner_lr must be > 0"),
    ("meta_lr=0", "meta_lr must be > 0"),
    ("k_train=0", "k_train must be >= 1"),
    ("eval_k=5,0", "eval_k must be >= 1"),
    ("iterations=ten", "expected an integer"),
    ("inner_lr=fast", "expected a number"),
    ("nope=1", "unknown config key 'nope'"),
    ("methods=maml,reptile", "methods must be one of"),
    ("methods=oracle", "methods must include 'maml'"),
    ("inner_lr", "expects key=value"),
    ("inner_lr=nan", "finite"),
    ("eval_k=5,5", "eval_k has duplicates"),
    ("methods=maml,maml", "methods has duplicates"),
])
def test_bad_values_raise_one_line(item, message):
    exp = registry.get("maml-sinusoid")
    with pytest.raises(ConfigError, match=message) as e:
        exp.make_config("default", cfg.parse_sets(SinusoidConfig, [item]))
    assert "\n" not in str(e.value)


def test_unknown_experiment_and_preset():
    with pytest.raises(ConfigError, match="unknown experiment 'nope'"):
        registry.get("nope")
    with pytest.raises(ConfigError, match="unknown preset 'huge'"):
        registry.get("maml-sinusoid").make_config("huge")


def test_wrong_type_in_code_is_caught():
    with pytest.raises(ConfigError, match="iterations must be an integer"):
        SinusoidConfig(iterations=1.5)


@pytest.mark.parametrize("name, preset, sets", [
    ("maml-sinusoid", "default", ["inner_lr=0.02", "hidden=64,64,64", "methods=maml,oracle"]),
    ("rl2-mdps", "default", ["hidden_size=32", "total_steps=60000000", "time_feature=false"]),
    ("maml-rl-nav2d", "smoke", []),
    ("baselines-mdps", "default", ["mode=clean", "instances=50"]),
])
def test_the_reported_command_rebuilds_the_config(name, preset, sets):
    # a report's command must rerun the run: parse it back exactly as the CLI does
    exp = registry.get(name)
    config = exp.make_config(preset, {**cfg.parse_sets(exp.config_cls, sets), "seed": 3})
    line = exp.command_line(preset, cfg.to_dict(config), always=())
    words = line.split()
    assert words[:5] == ["adaptax", "run", name, "--preset", preset]
    assert words[-2:] == ["--seed", "3"]
    parsed = [words[i + 1] for i, w in enumerate(words) if w == "--set"]
    assert len(parsed) == len(sets)  # only the keys that differ from the preset
    rebuilt = exp.make_config(preset, {**cfg.parse_sets(exp.config_cls, parsed), "seed": 3})
    assert rebuilt == config


def test_a_single_seed_run_hashes_as_before_the_seed_axis_existed():
    # checkpoints written before `seeds` existed must still resume: seeds = 1 is left out
    import hashlib
    import json

    from adaptax.experiments.config import to_dict, training_hash
    from adaptax.experiments.maml_sinusoid import EVAL_KEYS, SinusoidConfig

    config = SinusoidConfig()
    old = {k: v for k, v in to_dict(config).items() if k not in EVAL_KEYS and k != "seeds"}
    expected = hashlib.sha256(json.dumps(old, sort_keys=True).encode()).hexdigest()
    assert training_hash(config, EVAL_KEYS) == expected
    assert training_hash(SinusoidConfig(seeds=2), EVAL_KEYS) != expected
