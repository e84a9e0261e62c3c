"""Argument checks shared by the public functions.

Each raises before any TensorFlow work, with a message that names the bad value
and says what is valid.
"""

from __future__ import annotations

import math
import numbers

# The one default seed of every ascent, attack and shuffle in the package.
DEFAULT_SEED = 0


def check_int(name: str, value, minimum: int, maximum: int | None = None) -> int:
    """A whole number in [minimum, maximum] (no upper bound when ``maximum`` is None)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be a whole number >= {minimum}, got {value!r} ({type(value).__name__})."
        )
    upper = "" if maximum is None else f" and <= {maximum}"
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be >= {minimum}{upper}, got {value}.")
    return int(value)


def check_positive_int(name: str, value, maximum: int | None = None) -> int:
    """A whole number >= 1 (and <= ``maximum`` when given)."""
    return check_int(name, value, 1, maximum)


def check_non_negative_int(name: str, value) -> int:
    """A whole number >= 0."""
    return check_int(name, value, 0)


def check_positive_float(name: str, value) -> float:
    """A finite real number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a positive number, got {value!r} ({type(value).__name__})."
        )
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}.")
    return float(value)


def check_non_negative_float(name: str, value) -> float:
    """A finite real number >= 0 (a weight that 0 switches off)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number >= 0, got {value!r} ({type(value).__name__}).")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}.")
    return float(value)


MAX_SEED = 2**31 - 1  # seeds reach TensorFlow as 32-bit integers


def check_seed(value) -> int | None:
    """None or a whole number in [0, 2**31 - 1]."""
    if value is None:
        return None
    return check_int("seed", value, 0, MAX_SEED)
