"""The one set of validators for user-facing arguments: one clear error line each.

This module imports nothing from the rest of adaptax (DESIGN.md).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any


def require_int(name: str, value: Any, minimum: int) -> int:
    """Validates a user-facing integer argument at the boundary.

    Args:
      name: the argument's name, used in the error message.
      value: the value given (a Python or NumPy integer; bool is refused).
      minimum: the smallest allowed value.

    Returns:
      `value` as a Python int.

    Example:
      >>> require_int("horizon", 10, minimum=1)
      10
    """
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    try:
        as_int = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}") from None
    if as_int < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {as_int}")
    return as_int


def require_positive(name: str, value: Any) -> Any:
    """Refuses a concrete number that is not > 0 (traced values pass unchecked); returns it.

    Example:
      >>> require_positive("max_kl", 0.01)
      0.01
    """
    if isinstance(value, int | float) and not value > 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


def require_non_negative(name: str, value: Any) -> Any:
    """Refuses a concrete number that is not >= 0 (traced values pass unchecked); returns it."""
    if isinstance(value, int | float) and not value >= 0:
        raise ValueError(f"{name} must be non-negative, got {value}")
    return value


def require_probability(name: str, value: Any) -> Any:
    """Refuses a concrete number outside [0, 1] (traced values pass unchecked); returns it."""
    if isinstance(value, int | float) and not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return value


def require_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Refuses a value that is not one of ``choices``, listing them; returns it.

    Example:
      >>> require_choice("mode", "paper", ("paper", "clean"))
      'paper'
    """
    choices = list(choices)
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {choices}")
    return value
