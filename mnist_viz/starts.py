"""Where an ascent starts, and what it drew beyond its start.

noise_images     grey noise, uniform in [0.45, 0.55]: the tutorial's start
mean_digit       the mean training digit: ink where digits usually have it
neutral_starts   copies of one image plus seeded noise, one per restart
start_images     a named start (:data:`STARTS`) for ``n`` images
ink_added        an ascent's image without its start's faint ink
"""

from __future__ import annotations

import functools

import numpy as np

from mnist_viz._checks import DEFAULT_SEED, check_positive_float, check_positive_int, check_seed
from mnist_viz.data import MNIST, check_images, img_shape, load_mnist

STARTS = ("blank", "noise", "mean digit")


def noise_images(n: int, seed: int | None = DEFAULT_SEED) -> np.ndarray:
    """``n`` starting images of small noise around mid-grey, uniform in [0.45, 0.55]
    (``seed=None``: different every call)."""
    n = check_positive_int("n", n)
    rng = np.random.default_rng(check_seed(seed))
    return rng.uniform(0.45, 0.55, size=(n, *img_shape)).astype(np.float32)


def mean_digit(data: MNIST) -> np.ndarray:
    """The mean of all training digits, (28, 28): a class-neutral start that
    carries a mild prior from the data (ink where digits usually have it)."""
    return data.train.images.mean(axis=0).reshape(img_shape)


@functools.lru_cache(maxsize=1)
def _mean_training_digit() -> np.ndarray:
    return mean_digit(load_mnist())


def neutral_starts(
    base: np.ndarray, n: int, noise: float = 0.05, seed: int | None = DEFAULT_SEED
) -> np.ndarray:
    """``n`` copies of the image ``base`` (28, 28) plus seeded uniform noise of
    +/- ``noise``, clipped to [0, 1]: one class-neutral start per restart."""
    base = check_images("base", np.reshape(base, (1, -1)))[0]
    n = check_positive_int("n", n)
    rng = np.random.default_rng(check_seed(seed))
    jitter = rng.uniform(-noise, noise, size=(n, *base.shape)).astype(np.float32)
    return np.clip(base + jitter, 0.0, 1.0)


def check_start(start: str) -> str:
    """One of :data:`STARTS`."""
    if start not in STARTS:
        raise ValueError(f"start must be one of {STARTS}, got {start!r}.")
    return start


def start_images(n: int, start: str, seed: int | None) -> np.ndarray:
    """Starting images, shape (n, 28, 28): ``"blank"`` (no ink, all 0), ``"noise"``
    (grey noise) or ``"mean digit"`` (the mean training digit plus seeded noise of
    +/- 0.05, see :func:`neutral_starts`)."""
    if check_start(start) == "noise":
        return noise_images(n, seed)
    if start == "mean digit":
        return neutral_starts(_mean_training_digit(), n, seed=seed)
    return np.zeros((n, *img_shape), np.float32)


def ink_added(images, starts, threshold: float = 0.05) -> np.ndarray:
    """``images`` with every pixel that the ascent did not darken by more than
    ``threshold`` beyond its start set to 0 (no ink), shape (n, 28, 28): what the
    steps drew, without the start's faint ink (e.g. the mean digit's grey halo).

    ``images`` and ``starts`` are (n, 28, 28) or (n, 784), in [0, 1], of one shape.
    """
    images = check_images("images", images)
    starts = check_images("starts", starts)
    if images.shape != starts.shape:
        raise ValueError(
            f"images and starts must have the same shape, got {images.shape} and {starts.shape}."
        )
    threshold = check_positive_float("threshold", threshold)
    if threshold >= 1:
        raise ValueError(
            f"threshold must be in (0, 1): pixels change by at most 1, got {threshold}."
        )
    return np.where(images - starts > threshold, images, 0.0).astype(np.float32)
