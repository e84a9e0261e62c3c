"""Argument checks shared by the public functions.

Each raises before any TensorFlow work, with a message that names the bad value
and says what is valid.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def check_int(name: str, value, minimum: int, maximum: int | None = None) -> int:
    """A whole number in [minimum, maximum] (no upper bound when ``maximum`` is None)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number >= {minimum}, got {value!r} "
                        f"({type(value).__name__}).")
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
        raise TypeError(f"{name} must be a positive number, got {value!r} "
                        f"({type(value).__name__}).")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}.")
    return float(value)


def check_non_negative_float(name: str, value) -> float:
    """A finite real number >= 0 (a weight that 0 switches off)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number >= 0, got {value!r} "
                        f"({type(value).__name__}).")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}.")
    return float(value)


def check_seed(value) -> int | None:
    """None or a whole number >= 0."""
    if value is None:
        return None
    return check_non_negative_int("seed", value)


def check_images(name: str, images, count: int | None = None) -> np.ndarray:
    """Grey-scale images as float, shape (n, 784) or (n, 28, 28), finite, in [0, 1].

    Returns them as a float32 array of shape (n, 28, 28).
    """
    from mnist_viz.data import img_shape, img_size_flat

    array = np.asarray(images)
    if array.dtype.kind not in "fiu" or array.dtype == bool:
        raise TypeError(f"{name} must hold numbers (float in [0, 1]), got dtype "
                        f"{array.dtype}.")
    if array.ndim == 2 and array.shape[1] == img_size_flat:
        array = array.reshape(-1, *img_shape)
    if array.ndim != 3 or array.shape[1:] != img_shape:
        raise ValueError(f"{name} must have shape (n, {img_size_flat}) or (n, 28, 28), "
                         f"got {array.shape}.")
    if count is not None and len(array) != count:
        raise ValueError(f"{name} must hold exactly {count} images for this grid, "
                         f"got {len(array)}.")
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values; pixel values must "
                         "be finite numbers in [0, 1].")
    low, high = float(array.min(initial=0)), float(array.max(initial=0))
    if low < 0 or high > 1:
        raise ValueError(f"{name} has values in [{low:g}, {high:g}]; pixel values must "
                         "lie in [0, 1] (divide 0-255 images by 255).")
    return array


def check_classes(name: str, cls, count: int) -> np.ndarray:
    """``count`` class numbers, each a whole number in 0..9."""
    array = np.asarray(cls)
    if array.ndim != 1 or len(array) != count:
        raise ValueError(f"{name} must be {count} class numbers to match the images, "
                         f"got shape {array.shape}.")
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold whole class numbers 0-9, got dtype {array.dtype}.")
    if array.size and (array.min() < 0 or array.max() > 9):
        raise ValueError(f"{name} must hold class numbers in 0-9, got values from "
                         f"{array.min()} to {array.max()}.")
    return array
