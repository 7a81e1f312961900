"""The one set of validators for user-facing arguments: one clear error line each.

This module imports nothing from the rest of adaptax (DESIGN.md).
"""

from __future__ import annotations

import operator
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
