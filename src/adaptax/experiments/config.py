"""Experiment configs: frozen dataclasses with a help text per field, presets and ``--set`` parsing.

A config class is a frozen dataclass whose fields are declared with :func:`param`, which carries
the field's help text (shown by ``adaptax list --verbose``) and its allowed range; validation runs
in ``__post_init__`` through :func:`validate`, so a bad value fails where it enters, in one line.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

from adaptax.errors import ConfigError


def param(default: Any, help: str, *, min: float | None = None, max: float | None = None,
          min_exclusive: bool = False, choices: tuple | None = None,
          unique: bool = False) -> Any:
    """A config field with its help text and allowed range (bounds apply to every element).

    Tuple fields must not be empty; with ``unique`` they must not repeat a value either.
    """
    meta = {"help": help, "min": min, "max": max, "min_exclusive": min_exclusive,
            "choices": choices, "unique": unique}
    if isinstance(default, list | dict | set):
        raise TypeError("config defaults must be immutable; use a tuple")
    return dataclasses.field(default=default, metadata=meta)


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _describe(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _check_type(name: str, value: Any, tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is tuple:
        args = typing.get_args(tp)
        elem = args[0]
        if not isinstance(value, tuple | list):
            raise ConfigError(f"{name} must be a tuple of {_describe(elem)}, got {value!r}")
        return tuple(_check_type(name, v, elem) for v in value)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _check_type(name, value, arg)
            except ConfigError:
                continue
        raise ConfigError(f"{name} must be {_describe(tp)}, got {value!r}")
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"{name} must be None, got {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{name} must be a string, got {value!r}")
    return value


def settings_from(settings_cls: type, config: Any, **overrides: Any) -> Any:
    """An algorithm's settings from an experiment's config: every field of ``settings_cls`` that
    the config has under the same name takes the config's value, then ``overrides`` apply (what
    the config names otherwise, or has no key for).

    Example:
      >>> @dataclasses.dataclass(frozen=True)
      ... class Settings:
      ...     lr: float = 0.1
      ...     batch: int = 8
      >>> @dataclasses.dataclass(frozen=True)
      ... class Config:
      ...     lr: float = 0.01
      ...     seed: int = 0
      >>> settings_from(Settings, Config(), batch=4)
      Settings(lr=0.01, batch=4)
    """
    names = {f.name for f in dataclasses.fields(settings_cls)}
    shared = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)
              if f.name in names}
    return settings_cls(**(shared | overrides))


def validate(config: Any) -> None:
    """Checks every field's type and range; raises :class:`ConfigError` in one line."""
    hints = _field_types(type(config))
    for f in dataclasses.fields(config):
        value = _check_type(f.name, getattr(config, f.name), hints[f.name])
        object.__setattr__(config, f.name, value)
        meta = f.metadata
        elems = value if isinstance(value, tuple) else (value,)
        for v in elems:
            if meta.get("choices") is not None and v not in meta["choices"]:
                raise ConfigError(f"{f.name} must be one of {list(meta['choices'])}, got {v!r}")
            if not isinstance(v, int | float) or isinstance(v, bool):
                continue
            lo, hi = meta.get("min"), meta.get("max")
            if not math.isfinite(v):  # NaN or ±inf
                raise ConfigError(f"{f.name} must be a finite number, got {v!r}")
            if lo is not None and (v <= lo if meta.get("min_exclusive") else v < lo):
                op = ">" if meta.get("min_exclusive") else ">="
                raise ConfigError(f"{f.name} must be {op} {lo}, got {v!r}")
            if hi is not None and v > hi:
                raise ConfigError(f"{f.name} must be <= {hi}, got {v!r}")
        if isinstance(value, tuple) and not value:
            raise ConfigError(f"{f.name} must not be empty")
        if meta.get("unique") and isinstance(value, tuple) and len(set(value)) != len(value):
            raise ConfigError(f"{f.name} has duplicates: {list(value)}")


def _parse_scalar(name: str, text: str, tp: Any) -> Any:
    text = text.strip()
    if tp is bool:
        low = text.lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise ConfigError(f"--set {name}: expected true or false, got {text!r}")
    if tp is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"--set {name}: expected an integer, got {text!r}") from None
    if tp is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"--set {name}: expected a number, got {text!r}") from None
    return text


def parse_value(name: str, text: str, tp: Any) -> Any:
    """Parses a ``--set`` value for a field of type ``tp`` (tuples are comma-separated)."""
    if typing.get_origin(tp) is tuple:
        elem = typing.get_args(tp)[0]
        parts = [p for p in text.split(",") if p.strip()]
        return tuple(_parse_scalar(name, p, elem) for p in parts)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if text.strip().lower() == "none" and len(args) < len(typing.get_args(tp)):
            return None
        return parse_value(name, text, args[0])
    return _parse_scalar(name, text, tp)


def apply_overrides(config: Any, overrides: dict[str, Any]) -> Any:
    """A copy of ``config`` with ``overrides`` (already typed values) applied and validated."""
    names = {f.name for f in dataclasses.fields(config)}
    for key in overrides:
        if key not in names:
            raise ConfigError(
                f"unknown config key {key!r} for {type(config).__name__}; "
                f"valid keys: {', '.join(sorted(names))}"
            )
    return dataclasses.replace(config, **overrides)


def parse_sets(config_cls: type, items: list[str]) -> dict[str, Any]:
    """Parses ``["key=value", ...]`` from the command line into typed overrides."""
    hints = _field_types(config_cls)
    names = {f.name for f in dataclasses.fields(config_cls)}
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        key, text = item.split("=", 1)
        key = key.strip().replace("-", "_")
        if key not in names:
            raise ConfigError(
                f"unknown config key {key!r}; valid keys: {', '.join(sorted(names))}"
            )
        out[key] = parse_value(key, text, hints[key])
    return out


def format_value(value: Any) -> str:
    """A config value as ``--set`` text that `parse_value` reads back (lists comma-separated)."""
    if isinstance(value, list | tuple):
        return ",".join(format_value(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "none" if value is None else str(value)


def to_dict(config: Any) -> dict[str, Any]:
    """The config as JSON-ready data (tuples become lists)."""
    return {
        f.name: list(v) if isinstance(v := getattr(config, f.name), tuple) else v
        for f in dataclasses.fields(config)
    }


def from_dict(config_cls: type, data: dict[str, Any]) -> Any:
    """Rebuilds a config from :func:`to_dict` output, validating it."""
    names = {f.name for f in dataclasses.fields(config_cls)}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"config has unknown keys {sorted(unknown)} for {config_cls.__name__}")
    hints = _field_types(config_cls)
    kwargs = {
        k: tuple(v) if typing.get_origin(hints[k]) is tuple and isinstance(v, list) else v
        for k, v in data.items()
    }
    return config_cls(**kwargs)


# Keys added after checkpoints existed, at the value that trains as before: left out of the hash,
# so those checkpoints still resume (a single-seed run is what every run was without `seeds`).
_NEUTRAL = {"seeds": 1}


def training_hash(config: Any, eval_keys: tuple[str, ...] = ()) -> str:
    """SHA-256 of the config without its evaluation keys (and `_NEUTRAL` keys at their neutral
    value): what a checkpoint was trained with.

    Example:
      >>> from adaptax.experiments.maml_sinusoid import SinusoidConfig
      >>> training_hash(SinusoidConfig(), ("eval_tasks",)) == training_hash(
      ...     SinusoidConfig(eval_tasks=9), ("eval_tasks",))
      True
    """
    import hashlib
    import json

    data = {k: v for k, v in to_dict(config).items()
            if k not in eval_keys and _NEUTRAL.get(k, object()) != v}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def describe(config_cls: type) -> list[tuple[str, str, Any]]:
    """``(name, help, default)`` for every field, for ``--help``-style listings."""
    return [(f.name, f.metadata.get("help", ""), f.default) for f in dataclasses.fields(config_cls)]
