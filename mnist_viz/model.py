"""The tutorial's network: build it, train it, evaluate it, save and load it.

Every named layer (``layer_conv1``, ``layer_conv2``, ``layer_fc1``, ...) is
linear, and its ReLU is a separate layer named ``<name>_relu``. That keeps the
tutorial's layers as in the reference network while letting the feature
visualisation read a layer's output *before* the ReLU, as the reference did.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from mnist_viz._checks import (
    check_non_negative_int,
    check_positive_float,
    check_positive_int,
    check_seed,
)
from mnist_viz._files import atomic_write
from mnist_viz._tf import keras, tf
from mnist_viz._version import __version__
from mnist_viz.data import Split, check_images, img_shape, img_size_flat, num_channels, num_classes
from mnist_viz.paths import CACHE_ENV_VAR, models_dir, writable_folder

OUTPUT_LAYER = "layer_fc_out"


def check_layer_sizes(name: str, sizes) -> tuple[int, ...]:
    """A sequence of layer sizes, each a whole number >= 1, as a tuple."""
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(
            f"{name} must be a sequence of layer sizes such as (16, 36), got {sizes!r}."
        )
    return tuple(check_positive_int(f"{name}[{i}]", s) for i, s in enumerate(sizes))


def build_cnn(
    conv_filters: Sequence[int] = (16, 36),
    fc_units: Sequence[int] = (128,),
    kernel_size: int = 5,
    seed: int | None = 0,
) -> keras.Model:
    """The tutorial's network: (conv 5x5 'same' -> ReLU -> 2x2 max-pool) per entry of
    ``conv_filters``, flatten, (dense -> ReLU) per entry of ``fc_units``, then a
    dense layer of 10 logits.

    The defaults give the reference network with 242,062 parameters. Input is a
    batch of flat 784-pixel images in [0, 1]; output is the logits.
    """
    conv_filters = check_layer_sizes("conv_filters", conv_filters)
    fc_units = check_layer_sizes("fc_units", fc_units)
    check_positive_int("kernel_size", kernel_size)
    seed = check_seed(seed)
    seeds = iter(range(seed or 0, (seed or 0) + 100))

    def init():
        return keras.initializers.GlorotUniform(seed=None if seed is None else next(seeds))

    x = keras.Input(shape=(img_size_flat,), name="x")
    net = keras.layers.Reshape((*img_shape, num_channels), name="x_image")(x)
    for i, filters in enumerate(conv_filters, start=1):
        net = keras.layers.Conv2D(
            filters, kernel_size, padding="same", name=f"layer_conv{i}", kernel_initializer=init()
        )(net)
        net = keras.layers.ReLU(name=f"layer_conv{i}_relu")(net)
        net = keras.layers.MaxPooling2D(2, name=f"layer_pool{i}")(net)
    net = keras.layers.Flatten(name="flatten")(net)
    for i, units in enumerate(fc_units, start=1):
        net = keras.layers.Dense(units, name=f"layer_fc{i}", kernel_initializer=init())(net)
        net = keras.layers.ReLU(name=f"layer_fc{i}_relu")(net)
    logits = keras.layers.Dense(num_classes, name=OUTPUT_LAYER, kernel_initializer=init())(net)
    return keras.Model(inputs=x, outputs=logits, name="mnist_cnn")


class Trainer:
    """Trains a model in mini-batches and, like the reference, continues where
    the last call stopped: the iteration count and Adam's state are kept.

    For speed, ``steps_per_call`` steps run inside one compiled call, with the
    training set held as tensors and each batch gathered in the graph. The
    batches are exactly those of ``split.next_batch``, in the same order, so the
    result does not depend on ``steps_per_call``.

    Attributes:
        total_iterations: optimisation steps applied so far, over all calls.
    """

    def __init__(
        self,
        model: keras.Model,
        split: Split,
        batch_size: int = 64,
        learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-4,
        report_every: int | None = 100,
        steps_per_call: int = 50,
    ):
        if not isinstance(model, keras.Model):
            raise TypeError(f"model must be a keras.Model, got {type(model).__name__}.")
        if not isinstance(split, Split):
            raise TypeError(
                f"split must be a data split such as data.train, got {type(split).__name__}."
            )
        self.model = model
        self.split = split
        self.batch_size = check_positive_int("batch_size", batch_size, maximum=len(split))
        self.report_every = (
            None if report_every is None else check_positive_int("report_every", report_every)
        )
        self.steps_per_call = check_positive_int("steps_per_call", steps_per_call)
        if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
            learning_rate = check_positive_float("learning_rate", learning_rate)
        self.optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
        self.optimizer.build(model.trainable_variables)
        self.loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)
        self._images = tf.constant(split.images)
        self._labels = tf.constant(split.labels)
        self._steps = tf.function(self._train_steps, reduce_retracing=True)

    @property
    def total_iterations(self) -> int:
        # Adam counts its own updates inside the compiled call, so the count is
        # right even when an interrupt lands between a call and the next line.
        return int(self.optimizer.iterations.numpy())

    def _train_step(self, images, labels):
        with tf.GradientTape() as tape:
            logits = self.model(images, training=True)
            loss = self.loss_fn(labels, logits)
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        hits = tf.equal(tf.argmax(logits, axis=1), tf.argmax(labels, axis=1))
        return tf.reduce_mean(tf.cast(hits, tf.float32))

    def _train_steps(self, images, labels, batch_indices):
        """One step per row of ``batch_indices``; the batch accuracy of each."""
        count = tf.shape(batch_indices)[0]
        accuracies = tf.TensorArray(tf.float32, size=count)
        for i in tf.range(count):
            rows = batch_indices[i]
            accuracies = accuracies.write(
                i, self._train_step(tf.gather(images, rows), tf.gather(labels, rows))
            )
        return accuracies.stack()

    def _next_call_size(self, remaining: int) -> int:
        size = min(self.steps_per_call, remaining)
        if self.report_every is not None:  # never run past the next report
            size = min(size, self.report_every - self.total_iterations % self.report_every)
        return size

    def optimize(
        self, num_iterations: int, on_iteration: Callable[[int], None] | None = None
    ) -> None:
        """Run ``num_iterations`` more steps, printing the training-batch accuracy
        every ``report_every`` iterations (never if it is None).

        ``on_iteration(total_iterations)`` is called after each compiled call
        (every ``steps_per_call`` steps, or fewer at a report or at the end).
        An interrupt leaves ``total_iterations`` equal to the steps actually
        applied and the model usable, so a later call continues correctly.
        """
        num_iterations = check_non_negative_int("num_iterations", num_iterations)
        remaining = num_iterations
        while remaining > 0:
            size = self._next_call_size(remaining)
            first = self.total_iterations
            indices = np.stack(
                [self.split.next_batch_indices(self.batch_size) for _ in range(size)]
            )
            accuracies = self._steps(self._images, self._labels, tf.constant(indices))
            remaining -= size
            if self.report_every is not None and first % self.report_every == 0:
                print(
                    f"Optimization iteration: {first + 1:>6}, "
                    f"training accuracy: {float(accuracies[0]):>6.1%}"
                )
            if on_iteration is not None:
                on_iteration(self.total_iterations)


def predict_classes(model: keras.Model, images, batch_size: int = 256) -> np.ndarray:
    """Predicted class numbers for ``images``, computed in batches."""
    images = check_images("images", images).reshape(-1, img_size_flat)
    batch_size = check_positive_int("batch_size", batch_size)
    logits = model.predict(images, batch_size=batch_size, verbose=0)
    return np.argmax(logits, axis=1)


def classification_accuracy(model: keras.Model, split: Split, batch_size: int = 256) -> float:
    """Fraction of ``split`` that ``model`` classifies correctly."""
    return float(np.mean(predict_classes(model, split.images, batch_size) == split.cls))


def cached_model_path(name: str, **made_by) -> Path:
    """The cache file of the model ``name`` made by ``made_by`` (architecture,
    recipe, seed, ...), in :func:`mnist_viz.paths.models_dir`.

    The file name carries a hash of ``made_by`` and the package version, so a
    model made by other settings or by older code is never loaded in its place.
    """
    made_by = {**made_by, "package_version": __version__}
    key = hashlib.sha256(json.dumps(made_by, sort_keys=True, default=list).encode())
    return models_dir() / f"{name}-{key.hexdigest()[:12]}.keras"


def save_model(model: keras.Model, path: str | os.PathLike) -> Path:
    """Save ``model`` as a .keras file, atomically (temporary file, then rename)."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"model files must end in .keras, got {str(path)!r}.")
    writable_folder(path.parent, CACHE_ENV_VAR)
    with atomic_write(path) as tmp:
        model.save(tmp)
    return path


def load_model(path: str | os.PathLike) -> keras.Model:
    """Load a model saved by :func:`save_model`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no saved model at {path}; mv.get_network(name) trains and caches a named network."
        )
    return keras.models.load_model(path)
