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

import numpy as np

from mnist_viz._tf import tf
from mnist_viz.data import img_size


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
