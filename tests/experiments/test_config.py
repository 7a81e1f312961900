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
