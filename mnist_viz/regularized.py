"""Regularised feature visualisation: images that a feature likes *and* that look
like something.

The reference ascent (:mod:`mnist_viz.features`) finds images the network is sure
of that no person can read. Here the same idea is split into small pieces that one
batched loop consumes, as in the feature-visualisation literature (Olah et al.,
"Feature Visualization", Distill 2017):

    objectives   what to maximise: a conv channel's mean, one neuron, a dense
                 unit, a logit, or a weighted sum of those (``+``, ``-``, ``*``)
    transforms   a random shift, scale and rotation of the image at every step,
                 so that only patterns robust to small moves are rewarded
    penalties    total variation (rough images), L2 and L1 (ink everywhere)
    blur         a Gaussian blur every few steps (removes pixel-level noise)
    update rule  Adam, or the reference's gradient / its standard deviation

Nothing here is derived from the dataset: the images start blank and every prior
is a statement about images in general (smooth strokes on a dark background),
so what you see is still what *this network* likes.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np

from mnist_viz._checks import (check_images, check_int, check_non_negative_float,
                               check_positive_int, check_seed)
from mnist_viz._tf import keras, tf
from mnist_viz.data import img_shape, img_size, img_size_flat, num_classes
from mnist_viz.features import (_check_features, _output_layer_name, conv_layer_names,
                                dense_layer_names, noise_images, num_features, resolve_layer)

# ---------------------------------------------------------------------------
# Objectives
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Objective:
    """A linear function of some layers' outputs, for one image.

    ``weights`` maps a layer name to an array of that layer's output shape (batch
    dimension left out); the objective's value is the sum over layers of
    ``sum(output * weights)``. Every objective the tutorial uses is of this form,
    so sums and multiples of objectives are objectives too.
    """

    weights: dict
    description: str

    def __add__(self, other: Objective) -> Objective:
        if not isinstance(other, Objective):
            return NotImplemented
        weights = dict(self.weights)
        for name, w in other.weights.items():
            weights[name] = weights[name] + w if name in weights else w
        return Objective(weights, f"{self.description} + {other.description}")

    def __mul__(self, factor: float) -> Objective:
        if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or not (
                math.isfinite(factor)):
            return NotImplemented
        weights = {name: np.float32(factor) * w for name, w in self.weights.items()}
        return Objective(weights, f"{factor:g} * ({self.description})")

    __rmul__ = __mul__

    def __neg__(self) -> Objective:
        return self * -1.0

    def __sub__(self, other: Objective) -> Objective:
        if not isinstance(other, Objective):
            return NotImplemented
        return self + (-other)


def _layer_shape(model: keras.Model, layer_name: str) -> tuple[int, ...]:
    return tuple(int(d) for d in model.get_layer(layer_name).output.shape[1:])


def _one_feature(model: keras.Model, layer_id, feature: int) -> tuple[str, tuple[int, ...]]:
    layer_name = resolve_layer(model, layer_id)
    (feature,) = _check_features(model, layer_name, [feature])
    return layer_name, _layer_shape(model, layer_name)


def channel(model: keras.Model, layer: int | str, index: int) -> Objective:
    """The mean of one conv channel over all positions (the reference's objective)."""
    layer_name, shape = _one_feature(model, layer, index)
    if len(shape) != 3:
        raise ValueError(f"channel objectives need a conv layer; {layer_name} is not one. "
                         f"Conv layers: {conv_layer_names(model)}; use unit() for dense layers.")
    weights = np.zeros(shape, np.float32)
    weights[:, :, index] = 1.0 / (shape[0] * shape[1])
    return Objective({layer_name: weights}, f"{layer_name}[:, :, {index}] mean")


def neuron(model: keras.Model, layer: int | str, index: int, x: int, y: int) -> Objective:
    """One conv channel's value at position (x, y) of its feature map."""
    layer_name, shape = _one_feature(model, layer, index)
    if len(shape) != 3:
        raise ValueError(f"neuron objectives need a conv layer; {layer_name} is not one. "
                         f"Conv layers: {conv_layer_names(model)}.")
    x = check_int("x", x, 0, shape[1] - 1)
    y = check_int("y", y, 0, shape[0] - 1)
    weights = np.zeros(shape, np.float32)
    weights[y, x, index] = 1.0
    return Objective({layer_name: weights}, f"{layer_name}[{y}, {x}, {index}]")


def unit(model: keras.Model, layer: str, index: int) -> Objective:
    """One unit of a dense layer, before its ReLU."""
    layer_name, shape = _one_feature(model, layer, index)
    if len(shape) != 1:
        raise ValueError(f"unit objectives need a dense layer; {layer_name} is a conv "
                         f"layer. Dense layers: {dense_layer_names(model)}.")
    weights = np.zeros(shape, np.float32)
    weights[index] = 1.0
    return Objective({layer_name: weights}, f"{layer_name}[{index}]")


def logit(model: keras.Model, digit: int, contrast: float = 0.0) -> Objective:
    """The logit of ``digit``, minus ``contrast`` times the mean of the other logits.

    With ``contrast`` > 0 the image must look like this digit *rather than* any
    other, not just raise every logit at once.
    """
    layer_name, shape = _one_feature(model, None, digit)
    contrast = check_non_negative_float("contrast", contrast)
    weights = np.full(shape, -contrast / (shape[0] - 1), np.float32)
    weights[digit] = 1.0
    text = f"logit {digit}" + (f" - {contrast:g} * mean(other logits)" if contrast else "")
    return Objective({layer_name: weights}, text)


def layer_objectives(model: keras.Model, layer: int | str | None,
                     features: Sequence[int] | None = None,
                     contrast: float = 0.0) -> list[Objective]:
    """One objective per feature of a layer: channel means for a conv layer, units
    for a dense layer, logits (with ``contrast``) for the output layer (None or its
    name). ``features`` defaults to all of the layer's features."""
    layer_name = resolve_layer(model, layer)
    if features is None:
        features = range(num_features(model, layer_name))
    features = _check_features(model, layer_name, features)
    if layer_name == _output_layer_name(model):
        return [logit(model, f, contrast) for f in features]
    if layer_name in conv_layer_names(model):
        return [channel(model, layer_name, f) for f in features]
    return [unit(model, layer_name, f) for f in features]


def _stacked_weights(model: keras.Model, objectives: Sequence[Objective]) -> dict:
    """Per layer, the weights of every objective stacked into (n, *layer shape)."""
    if isinstance(objectives, Objective) or not isinstance(objectives, Sequence):
        raise TypeError(f"objectives must be a list of Objective, one per image, "
                        f"got {type(objectives).__name__}.")
    if not objectives:
        raise ValueError("objectives is empty; give at least one Objective.")
    for i, objective in enumerate(objectives):
        if not isinstance(objective, Objective):
            raise TypeError(f"objectives[{i}] must be an Objective (see channel, neuron, "
                            f"unit, logit), got {type(objective).__name__}.")
    names = sorted({name for objective in objectives for name in objective.weights})
    stacked = {}
    for name in names:
        shape = _layer_shape(model, name)
        stacked[name] = np.stack([o.weights.get(name, np.zeros(shape, np.float32))
                                  for o in objectives]).astype(np.float32)
    return stacked


def _objective_values(outputs: dict, weights: dict):
    total = 0.0
    for name, w in weights.items():
        rank = len(w.shape)
        total += tf.reduce_sum(outputs[name] * w, axis=list(range(1, rank)))
    return total


def evaluate_objectives(model: keras.Model, objectives: Sequence[Objective],
                        images) -> np.ndarray:
    """Each objective's value on its image (image ``i`` for ``objectives[i]``)."""
    weights = _stacked_weights(model, objectives)
    images = check_images("images", images, count=len(objectives))
    probe = _probe_model(model, tuple(weights))
    outputs = probe(images.reshape(-1, img_size_flat))
    return _objective_values(dict(zip(weights, outputs[:-1])), weights).numpy()


def _probe_model(model: keras.Model, layer_names: tuple[str, ...]) -> keras.Model:
    """Input image -> the named layers' outputs, then the logits."""
    outputs = [model.get_layer(name).output for name in layer_names]
    return keras.Model(model.inputs[0], [*outputs, model.outputs[0]])


# ---------------------------------------------------------------------------
# Transforms, penalties, blur
# ---------------------------------------------------------------------------


def random_affine(n: int, seed, jitter: float, scale: float, rotation: float):
    """``n`` random affine transforms (Keras' 8-number form, output -> input):
    a shift of up to ``jitter`` pixels, a zoom by up to ``scale`` either way and a
    rotation of up to ``rotation`` degrees, all about the image centre.
    ``seed`` is a stateless seed (two integers), so a run is reproducible."""
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


def apply_transforms(images, transforms):
    """Resample images (n, 28, 28, 1) through affine ``transforms``; pixels from
    outside the image are black (0), MNIST's background."""
    return keras.ops.image.affine_transform(images, transforms, interpolation="bilinear",
                                            fill_mode="constant", fill_value=0.0)


def total_variation(images):
    """Per image: the sum of absolute differences between neighbouring pixels."""
    return tf.image.total_variation(tf.convert_to_tensor(images, tf.float32))


def l2_penalty(images):
    """Per image: the sum of squared pixel values (ink, counted smoothly)."""
    return tf.reduce_sum(tf.square(tf.convert_to_tensor(images, tf.float32)), axis=[1, 2, 3])


def l1_penalty(images):
    """Per image: the sum of absolute pixel values (ink, counted sparsely)."""
    return tf.reduce_sum(tf.abs(tf.convert_to_tensor(images, tf.float32)), axis=[1, 2, 3])


PENALTIES: dict[str, Callable] = {"tv": total_variation, "l2": l2_penalty, "l1": l1_penalty}


def blur(images, sigma: float):
    """A 5x5 Gaussian blur with standard deviation ``sigma`` pixels."""
    return keras.ops.image.gaussian_blur(images, kernel_size=(5, 5), sigma=(sigma, sigma))


# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------


UPDATE_RULES = ("adam", "std")
STARTS = ("blank", "noise")


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything that shapes a regularised ascent. The defaults are tuned for
    28x28 one-channel MNIST and measured in ``03_recognizable_digits.ipynb``:

    - ``steps=200`` Adam steps of ``learning_rate=0.05``: pixels live in [0, 1],
      so a step of 5% of the range moves fast yet stays stable.
    - ``jitter=2`` pixels, ``scale=0.1``, ``rotation=10`` degrees: a digit drawn
      by hand varies about this much; larger moves erase strokes.
    - ``tv=0.05``: smooth strokes instead of pixel noise. ``l1=0.1``: a dark
      background with little ink, as in every MNIST image. ``l2=0``: L1 already
      keeps ink scarce, and L2 on top makes strokes faint.
    - ``blur_every=10``, ``blur_sigma=1.0``: an occasional blur thickens strokes
      to the 2 to 3 pixels of a pen; blurring every step washes the image out.
    - ``contrast=3.0`` (logits only): the digit's logit minus three times the mean
      of the others, so the image must look like *this* digit rather than any
      digit. At 2 the network's 1 sometimes keeps a stroke that reads as a 3.
    - ``start="blank"``: a black image, MNIST's background.

    ImageNet defaults (libraries such as Lucid or tf-keras-vis) assume 224x224
    colour images with pixel noise to hide; here they give noise or saturated
    pixels.
    """

    steps: int = 200
    update: str = "adam"
    learning_rate: float = 0.05
    jitter: float = 2.0
    scale: float = 0.1
    rotation: float = 10.0
    tv: float = 0.05
    l2: float = 0.0
    l1: float = 0.1
    blur_every: int = 10
    blur_sigma: float = 1.0
    contrast: float = 3.0
    start: str = "blank"

    def __post_init__(self):
        check_positive_int("steps", self.steps)
        if self.update not in UPDATE_RULES:
            raise ValueError(f"update must be one of {UPDATE_RULES}, got {self.update!r}.")
        if self.start not in STARTS:
            raise ValueError(f"start must be one of {STARTS}, got {self.start!r}.")
        for name in ("learning_rate", "jitter", "scale", "rotation", "tv", "l2", "l1",
                     "blur_sigma", "contrast"):
            check_non_negative_float(name, getattr(self, name))
        if self.learning_rate == 0:
            raise ValueError("learning_rate must be > 0, got 0.")
        if self.scale >= 1:
            raise ValueError(f"scale must be below 1 (a zoom of 1 +/- scale), got {self.scale}.")
        check_int("blur_every", self.blur_every, 0)
        if self.blur_every and self.blur_sigma == 0:
            raise ValueError("blur_sigma must be > 0 when blur_every is set; use "
                             "blur_every=0 to switch blurring off.")

    def replace(self, **changes) -> Settings:
        """A copy with some settings changed (checked like the originals)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise TypeError(f"unknown settings {sorted(unknown)}; valid: "
                            f"{[f.name for f in dataclasses.fields(self)]}.")
        return dataclasses.replace(self, **changes)

    @property
    def transforms(self) -> bool:
        return bool(self.jitter or self.scale or self.rotation)


REGULARIZED = Settings()
# A conv channel's mean is about a hundred times smaller than a logit, and a dense
# unit about five times smaller, so their penalties are scaled down to match:
# with the logits' weights the penalties win and the image stays black.
REGULARIZED_CONV = Settings(tv=3e-4, l1=3e-4, contrast=0.0)
REGULARIZED_DENSE = Settings(tv=0.01, l1=0.01, contrast=0.0)
# The reference tutorial's method expressed in the same loop: 30 plain steps of
# gradient / std from grey noise, no transforms, no penalties, no blur.
REFERENCE = Settings(steps=30, update="std", jitter=0.0, scale=0.0, rotation=0.0, tv=0.0,
                     l1=0.0, blur_every=0, contrast=0.0, start="noise")


# ---------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Visualization:
    """What a regularised ascent returns.

    Attributes:
        images: the final images, (n, 28, 28), values in [0, 1].
        objective: (steps, n) each image's objective before each step.
        no_gradient: (steps, n) True where the objective's gradient was all zero.
        frames: (len(frame_steps), n, 28, 28) snapshots for an animation.
        frame_steps: the step after which each frame was taken (0 = the start).
    """

    images: np.ndarray
    objective: np.ndarray
    no_gradient: np.ndarray
    frames: np.ndarray
    frame_steps: list[int]


def start_images(n: int, start: str, seed: int | None) -> np.ndarray:
    """Blank (black) or grey-noise starting images, shape (n, 28, 28)."""
    if start == "noise":
        return noise_images(n, seed)
    return np.zeros((n, *img_shape), np.float32)


def _step_function(model, weights, settings: Settings, images: tf.Variable, seed: int):
    """One compiled optimisation step for ``images`` (a variable), built per run."""
    n = int(images.shape[0])
    probe = _probe_model(model, tuple(weights))
    optimizer = None
    if settings.update == "adam":
        optimizer = keras.optimizers.Adam(settings.learning_rate)
        optimizer.build([images])

    def loss_and_objective(images, step):
        seen = images
        if settings.transforms:
            matrices = random_affine(n, tf.stack([seed, step]), settings.jitter,
                                     settings.scale, settings.rotation)
            seen = apply_transforms(images, matrices)
        outputs = probe(tf.reshape(seen, (n, img_size_flat)))
        objective = _objective_values(dict(zip(weights, outputs[:-1])), weights)
        penalty = 0.0
        for name, penalise in PENALTIES.items():
            if getattr(settings, name):
                penalty += getattr(settings, name) * penalise(images)
        return objective - penalty, objective

    @tf.function
    def step(i):
        if settings.blur_every:
            if i > 0 and i % settings.blur_every == 0:
                images.assign(blur(images, settings.blur_sigma))
        with tf.GradientTape() as tape:
            total, objective = loss_and_objective(images, i)
            loss = -tf.reduce_sum(total)  # images are independent: one gradient each
        grad = tape.gradient(loss, images)
        no_gradient = tf.reduce_all(grad == 0, axis=[1, 2, 3])
        if optimizer is not None:
            optimizer.apply_gradients([(grad, images)])
        else:
            std = tf.math.reduce_std(grad, axis=[1, 2, 3], keepdims=True)
            images.assign_sub(tf.where(std > 0, grad / (std + 1e-8), tf.zeros_like(grad)))
        images.assign(tf.clip_by_value(images, 0.0, 1.0))
        return objective, no_gradient

    return step


def visualize(model: keras.Model, objectives: Sequence[Objective],
              settings: Settings = REGULARIZED, seed: int | None = 0,
              start: np.ndarray | None = None, report_every: int | None = None,
              frame_every: int | None = None) -> Visualization:
    """Optimise one image per objective, all in one batch.

    Args:
        objectives: image ``i`` maximises ``objectives[i]``.
        settings: see :class:`Settings`; :data:`REGULARIZED` or :data:`REFERENCE`.
        seed: fixes the random transforms and, with ``start="noise"``, the start.
        start: starting images (n, 28, 28) in [0, 1], instead of ``settings.start``.
        report_every: print progress every this many steps (never if None).
        frame_every: keep a snapshot every this many steps, for an animation.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}.")
    if not isinstance(settings, Settings):
        raise TypeError(f"settings must be a Settings (e.g. REGULARIZED), got "
                        f"{type(settings).__name__}.")
    weights = _stacked_weights(model, objectives)
    n = len(objectives)
    seed = check_seed(seed) or 0
    if start is None:
        start = start_images(n, settings.start, seed)
    start = check_images("start", start, count=n)
    report_every = None if report_every is None else check_positive_int("report_every",
                                                                        report_every)
    frame_every = None if frame_every is None else check_positive_int("frame_every",
                                                                      frame_every)
    images = tf.Variable(start[..., None])
    step = _step_function(model, weights, settings, images, seed)
    objective_log, no_gradient_log = [], []
    frames, frame_steps = [start.copy()], [0]
    for i in range(settings.steps):
        objective, no_gradient = step(tf.constant(i))
        objective_log.append(objective.numpy())
        no_gradient_log.append(no_gradient.numpy())
        done = i + 1
        if frame_every is not None and (done % frame_every == 0 or done == settings.steps):
            frames.append(images.numpy()[..., 0])
            frame_steps.append(done)
        if report_every is not None and (done % report_every == 0 or done == settings.steps):
            _report(done, settings.steps, objective_log[-1], no_gradient_log[-1])
    return Visualization(images.numpy()[..., 0], np.array(objective_log),
                         np.array(no_gradient_log), np.array(frames), frame_steps)


def _report(done: int, steps: int, objective: np.ndarray, no_gradient: np.ndarray) -> None:
    flat = int(no_gradient.sum())
    gradient = f", no gradient for {flat} of {len(objective)} images" if flat else ""
    print(f"Step {done:>4}/{steps}: objective mean {objective.mean():.3f}, "
          f"min {objective.min():.3f}, max {objective.max():.3f}{gradient}")


def regularized_settings(model: keras.Model, layer: int | str | None) -> Settings:
    """The tuned regularised settings for a layer: conv, dense or output (logits)."""
    layer_name = resolve_layer(model, layer)
    if layer_name == _output_layer_name(model):
        return REGULARIZED
    if layer_name in conv_layer_names(model):
        return REGULARIZED_CONV
    return REGULARIZED_DENSE


def visualize_layer(model: keras.Model, layer: int | str | None,
                    features: Sequence[int] | None = None,
                    settings: Settings | None = None, seed: int | None = 0,
                    report_every: int | None = None) -> np.ndarray:
    """The images that the features of one layer like (default: all of them),
    shape (n, 28, 28) in [0, 1]. ``layer`` as in :func:`features.resolve_layer`;
    ``settings`` default to :func:`regularized_settings` for that layer."""
    if settings is None:
        settings = regularized_settings(model, layer)
    objectives = layer_objectives(model, layer, features, contrast=settings.contrast)
    return visualize(model, objectives, settings, seed, report_every=report_every).images


def visualize_digits(model: keras.Model, settings: Settings = REGULARIZED,
                     seed: int | None = 0, restarts: int = 1) -> np.ndarray:
    """For each restart, one image per digit 0..9, optimised in one batch.

    Returns (restarts, 10, 28, 28): row r holds restart r's digits, index = digit.
    Restarts differ by their random transforms (and start, for noise).
    """
    restarts = check_positive_int("restarts", restarts)
    objectives = layer_objectives(model, None, list(range(num_classes)) * restarts,
                                  contrast=settings.contrast)
    images = visualize(model, objectives, settings, seed).images
    return images.reshape(restarts, num_classes, *img_shape)
