"""How the optimised image is parameterised: what the ascent actually changes.

    pixels    the pixel values themselves, clipped to [0, 1] after every step
              (the reference's way)
    fourier   a decorrelated Fourier spectrum, each frequency scaled by 1 / its
              frequency, through a sigmoid (as Lucid's ``fft_image``): a step
              moves smooth shapes more than single pixels

A parameterisation turns start images into parameters (:meth:`encode`), and
parameters into images in [0, 1] (:meth:`decode`); :meth:`project` keeps the
parameters valid after a step. A new one is a class and an entry in
:data:`PARAMETERIZATIONS`.
"""

from __future__ import annotations

import functools

import numpy as np

from mnist_viz._checks import DEFAULT_SEED, check_positive_int, check_seed
from mnist_viz._tf import tf
from mnist_viz.data import MNIST, check_images, img_shape, img_size, load_mnist

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


def start_images(n: int, start: str, seed: int | None) -> np.ndarray:
    """Starting images, shape (n, 28, 28): ``"blank"`` (no ink, all 0), ``"noise"``
    (grey noise) or ``"mean digit"`` (the mean training digit plus seeded noise of
    +/- 0.05, see :func:`neutral_starts`)."""
    if start not in STARTS:
        raise ValueError(f"start must be one of {STARTS}, got {start!r}.")
    if start == "noise":
        return noise_images(n, seed)
    if start == "mean digit":
        return neutral_starts(_mean_training_digit(), n, seed=seed)
    return np.zeros((n, *img_shape), np.float32)


class Pixels:
    """The pixels themselves, shape (n, 28, 28, 1), clipped to [0, 1]."""

    def encode(self, images):
        return tf.convert_to_tensor(images, tf.float32)[..., None]

    def decode(self, params):
        return params

    def project(self, params):
        return tf.clip_by_value(params, 0.0, 1.0)


class Fourier:
    """A spectrum (real and imaginary parts) whose inverse FFT, through a sigmoid,
    is the image. Each frequency is scaled by 1 / frequency, so the parameters are
    decorrelated: a unit step changes low frequencies (shapes) most."""

    # Pixels of exactly 0 or 1 sit at the sigmoid's infinities; start just inside.
    margin = 1e-3

    def __init__(self, size: int = img_size):
        fy = np.fft.fftfreq(size)[:, None]
        fx = np.fft.rfftfreq(size)[None, :]
        frequency = np.sqrt(fx**2 + fy**2)
        self.scale = tf.constant(size / np.maximum(frequency, 1.0 / size), tf.complex64)
        self.size = size

    def encode(self, images):
        images = tf.clip_by_value(
            tf.convert_to_tensor(images, tf.float32), self.margin, 1.0 - self.margin
        )
        spectrum = tf.signal.rfft2d(tf.math.log(images / (1.0 - images))) / self.scale
        return tf.stack([tf.math.real(spectrum), tf.math.imag(spectrum)], axis=1)

    def decode(self, params):
        spectrum = tf.complex(params[:, 0], params[:, 1]) * self.scale
        logits = tf.signal.irfft2d(spectrum, fft_length=(self.size, self.size))
        return tf.sigmoid(logits)[..., None]

    def project(self, params):
        return params


PARAMETERIZATIONS = {"pixels": Pixels, "fourier": Fourier}


def parameterization(name: str):
    """The parameterisation called ``name`` (see :data:`PARAMETERIZATIONS`)."""
    if name not in PARAMETERIZATIONS:
        raise ValueError(f"unknown parameterisation {name!r}; valid: {sorted(PARAMETERIZATIONS)}.")
    return PARAMETERIZATIONS[name]()
