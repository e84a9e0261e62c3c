"""What happens to the image between the parameters and the network, and what
the ascent is charged for it.

    transforms   functions ``(images, seed) -> images`` applied before the network
                 sees the image at every step; ``seed`` is a stateless seed (two
                 integers), so a run is reproducible. :func:`random_affine` is the
                 default: a random shift, scale and rotation, so that only
                 patterns robust to small moves are rewarded.
    penalties    total variation (rough images), L2 and L1 (ink everywhere),
                 per image
    blur         a Gaussian blur, applied every few steps by the engine

Images here are tensors of shape (n, 28, 28, 1) in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Callable

from mnist_viz._tf import keras, tf
from mnist_viz.data import img_size


def random_affine_matrices(n, seed, jitter, scale, rotation):
    """``n`` random affine transforms (Keras' 8-number form, output -> input):
    a shift of up to ``jitter`` pixels, a zoom by up to ``scale`` either way and a
    rotation of up to ``rotation`` degrees, all about the image centre."""
    seeds = tf.random.experimental.stateless_split(seed, 4)
    zoom = tf.random.stateless_uniform((n,), seeds[0], 1.0 - scale, 1.0 + scale)
    angle = tf.random.stateless_uniform((n,), seeds[1], -rotation, rotation) * (math.pi / 180)
    shift_x = tf.random.stateless_uniform((n,), seeds[2], -jitter, jitter)
    shift_y = tf.random.stateless_uniform((n,), seeds[3], -jitter, jitter)
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    centre = (img_size - 1) / 2
    a2 = centre - cos * centre + sin * centre + shift_x
    b2 = centre - sin * centre - cos * centre + shift_y
    zeros = tf.zeros_like(cos)
    return tf.stack([cos, -sin, a2, sin, cos, b2, zeros, zeros], axis=1)


def apply_affine(images, matrices):
    """Resample images (n, 28, 28, 1) through affine ``matrices``; pixels from
    outside the image are 0 (no ink), MNIST's background."""
    return keras.ops.image.affine_transform(
        images, matrices, interpolation="bilinear", fill_mode="constant", fill_value=0.0
    )


def random_affine(jitter, scale, rotation) -> Callable:
    """A transform that moves each image by its own random shift, zoom and rotation."""

    def transform(images, seed):
        matrices = random_affine_matrices(tf.shape(images)[0], seed, jitter, scale, rotation)
        return apply_affine(images, matrices)

    return transform


def total_variation(images):
    """Per image: the sum of absolute differences between neighbouring pixels.

    The same values and gradient as ``tf.image.total_variation``, but the
    gradient pads the differences' signs back into place instead of going
    through four strided-slice gradients (about 6x faster on a CPU, where it
    ran at every step of a regularised ascent)."""
    return _total_variation(tf.convert_to_tensor(images, tf.float32))


@tf.custom_gradient
def _total_variation(images):
    down = images[:, 1:] - images[:, :-1]
    right = images[:, :, 1:] - images[:, :, :-1]
    values = tf.reduce_sum(tf.abs(down), axis=[1, 2, 3]) + tf.reduce_sum(
        tf.abs(right), axis=[1, 2, 3]
    )

    def gradient(upstream):
        upstream = tf.reshape(upstream, (-1, 1, 1, 1))
        # A difference x[i + 1] - x[i] sends +sign to x[i + 1] and -sign to x[i].
        return _pad(tf.sign(down) * upstream, axis=1) + _pad(tf.sign(right) * upstream, axis=2)

    return values, gradient


def _pad(signs, axis: int):
    """Each difference's sign added to its later pixel and taken from its earlier one."""
    before, after = [[0, 0]] * 4, [[0, 0]] * 4
    before[axis], after[axis] = [1, 0], [0, 1]
    return tf.pad(signs, before) - tf.pad(signs, after)


def l2_penalty(images):
    """Per image: the sum of squared pixel values (ink, counted smoothly)."""
    return tf.reduce_sum(tf.square(tf.convert_to_tensor(images, tf.float32)), axis=[1, 2, 3])


def l1_penalty(images):
    """Per image: the sum of absolute pixel values (ink, counted sparsely)."""
    return tf.reduce_sum(tf.abs(tf.convert_to_tensor(images, tf.float32)), axis=[1, 2, 3])


PENALTIES: dict[str, Callable] = {"tv": total_variation, "l2": l2_penalty, "l1": l1_penalty}


def blur(images, sigma):
    """A 5x5 Gaussian blur with standard deviation ``sigma`` pixels."""
    return keras.ops.image.gaussian_blur(images, kernel_size=(5, 5), sigma=(sigma, sigma))
