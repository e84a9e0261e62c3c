"""From arrays to a trained network: build, train, evaluate, cache.

Every named layer (``layer_conv1``, ``layer_conv2``, ``layer_fc1``, ...) is
linear, and its ReLU is a separate layer named ``<name>_relu``. That keeps the
tutorial's layers as in the reference network while letting the feature
visualisation read a layer's output *before* the ReLU, as the reference did.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
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

# The main tutorial's recipe, and a faster one for experiments that train many
# networks: a larger batch and a 40x larger learning rate that decays to zero
# along a cosine reach about 99.3% in 1,500 iterations (under 4 epochs).
REFERENCE_RECIPE = {
    "batch_size": 64,
    "learning_rate": 1e-4,
    "num_iterations": 10_000,
    "schedule": "constant",
}
FAST_RECIPE = {
    "batch_size": 128,
    "learning_rate": 4e-3,
    "num_iterations": 1500,
    "schedule": "cosine",
}
SCHEDULES = ("constant", "cosine")

# The main tutorial's network and seed.
REFERENCE_ARCHITECTURE = {"conv_filters": (16, 36), "fc_units": (128,), "kernel_size": 5}
REFERENCE_SEED = 0


def _check_layer_sizes(name: str, sizes) -> tuple[int, ...]:
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
    conv_filters = _check_layer_sizes("conv_filters", conv_filters)
    fc_units = _check_layer_sizes("fc_units", fc_units)
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


def default_model_path() -> Path:
    """Where the cache keeps the main tutorial's network (see :func:`cached_model_path`)."""
    return cached_model_path(
        "cnn", **REFERENCE_ARCHITECTURE, recipe=REFERENCE_RECIPE, seed=REFERENCE_SEED
    )


def save_model(model: keras.Model, path: str | os.PathLike | None = None) -> Path:
    """Save ``model`` as a .keras file, atomically (temporary file, then rename)."""
    path = Path(path) if path is not None else default_model_path()
    if path.suffix != ".keras":
        raise ValueError(f"model files must end in .keras, got {str(path)!r}.")
    writable_folder(path.parent, CACHE_ENV_VAR)
    with atomic_write(path) as tmp:
        model.save(tmp)
    return path


def load_model(path: str | os.PathLike | None = None) -> keras.Model:
    """Load a model saved by :func:`save_model`."""
    path = Path(path) if path is not None else default_model_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"no saved model at {path}; run the main tutorial "
            "notebook (or train_reference_cnn) to create it."
        )
    return keras.models.load_model(path)


def train_cnn(
    split: Split,
    conv_filters: Sequence[int] = (16, 36),
    fc_units: Sequence[int] = (128,),
    recipe: dict | None = None,
    seed: int = 0,
    report_every: int | None = None,
    kernel_size: int = 5,
) -> keras.Model:
    """Build a network (see :func:`build_cnn`) and train it with ``recipe``
    (default :data:`FAST_RECIPE`): a dict of batch_size, learning_rate, num_iterations.

    ``seed`` fixes both the initial weights and the order of the batches, so the
    result does not depend on what was trained before.
    """
    recipe = check_recipe(FAST_RECIPE if recipe is None else recipe)
    model = build_cnn(conv_filters, fc_units, kernel_size=kernel_size, seed=seed)
    trainer = recipe_trainer(model, split.with_seed(seed), recipe, report_every)
    trainer.optimize(recipe["num_iterations"])
    return model


def check_recipe(recipe) -> dict:
    """A complete recipe: batch_size, learning_rate, num_iterations and schedule
    (one of :data:`SCHEDULES`; "constant" when left out)."""
    if not isinstance(recipe, dict):
        raise TypeError(f"recipe must be a dict like FAST_RECIPE, got {type(recipe).__name__}.")
    required = {"batch_size", "learning_rate", "num_iterations"}
    known = required | {"schedule"}
    if not required <= set(recipe) or not set(recipe) <= known:
        raise ValueError(
            f"recipe must have the keys {sorted(required)} and optionally "
            f"'schedule', got {sorted(recipe)}."
        )
    recipe = {"schedule": "constant", **recipe}
    if recipe["schedule"] not in SCHEDULES:
        raise ValueError(f"recipe schedule must be one of {SCHEDULES}, got {recipe['schedule']!r}.")
    check_positive_int("num_iterations", recipe["num_iterations"])
    check_positive_float("learning_rate", recipe["learning_rate"])
    return recipe


def recipe_trainer(
    model: keras.Model,
    split: Split,
    recipe: dict,
    report_every: int | None = None,
    trainer: type[Trainer] = Trainer,
    **options,
) -> Trainer:
    """A ``trainer`` (default :class:`Trainer`; ``options`` go to it) set up as
    ``recipe`` says (see :func:`check_recipe`)."""
    recipe = check_recipe(recipe)
    learning_rate = recipe["learning_rate"]
    if recipe["schedule"] == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            learning_rate, recipe["num_iterations"]
        )
    return trainer(
        model,
        split,
        batch_size=recipe["batch_size"],
        learning_rate=learning_rate,
        report_every=report_every,
        **options,
    )


def train_reference_cnn(split: Split, seed: int = REFERENCE_SEED) -> keras.Model:
    """Build and train the reference network with the main tutorial's recipe."""
    return train_cnn(
        split, **REFERENCE_ARCHITECTURE, recipe=REFERENCE_RECIPE, seed=seed, report_every=1000
    )


def load_or_train(
    train: Callable[[], keras.Model], path: str | os.PathLike, description: str
) -> keras.Model:
    """The model cached at ``path``, or ``train()``'s model, cached there.

    A cache file that cannot be loaded is reported in one line, never used, and
    replaced by a freshly trained model. Both notices go to stderr: they say what
    happens to the cache, not what the model is.
    """
    path = Path(path)
    if path.is_file():
        try:
            return load_model(path)
        except Exception as err:  # any unreadable file: report and retrain
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            print(
                f"Cached model {path.name} is unreadable ({reason[:120]}); retraining.",
                file=sys.stderr,
            )
    else:
        print(f"No cached model at {path.name}; training {description}.", file=sys.stderr)
    writable_folder(path.parent, CACHE_ENV_VAR)  # before spending minutes on training
    model = train()
    save_model(model, path)
    return model


def load_or_train_reference(split: Split, path: str | os.PathLike | None = None) -> keras.Model:
    """The main tutorial's trained network from the cache, trained and cached if
    missing or unreadable (see :func:`load_or_train`)."""
    path = Path(path) if path is not None else default_model_path()
    return load_or_train(
        lambda: train_reference_cnn(split),
        path,
        "the reference network (about a minute on a laptop CPU)",
    )


def load_or_train_cnn(
    split: Split,
    conv_filters: Sequence[int] = (16, 36),
    fc_units: Sequence[int] = (128,),
    recipe: dict | None = None,
    seed: int = 0,
    kernel_size: int = 5,
) -> keras.Model:
    """:func:`train_cnn`'s network from the cache, trained and cached when missing
    (see :func:`load_or_train`): an experiment that trains the same network and
    seed twice, in a notebook or a test, trains it once per machine."""
    recipe = check_recipe(FAST_RECIPE if recipe is None else recipe)
    path = cached_model_path(
        "experiment",
        conv_filters=[int(f) for f in conv_filters],
        fc_units=[int(u) for u in fc_units],
        kernel_size=kernel_size,
        recipe=recipe,
        seed=seed,
    )
    return load_or_train(
        lambda: train_cnn(split, conv_filters, fc_units, recipe, seed, kernel_size=kernel_size),
        path,
        f"conv filters {tuple(conv_filters)}, dense units {tuple(fc_units)}, seed {seed}",
    )
