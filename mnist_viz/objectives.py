"""What an ascent maximises: objectives as composable functions of a batch's layer outputs.

An :class:`Objective` maps the layer outputs of a whole batch of images to one
value per image, shape ``(n,)``; the ascent maximises their sum. Objectives
compose with ``+``, ``-`` and ``*`` (by a number), so a new idea is one function:

    per-image   channel, neuron, unit, logit: linear in one layer's output, for
                one image; :func:`per_image` stacks a list of them into a batch
                (image ``i`` maximises ``objectives[i]``), cut at each layer
    coupled     diversity: images of one group are pushed apart (Olah et al.,
                "Feature Visualization", Distill 2017)
    your own    ``custom(function, layers, description)``

Numbers inside an objective (weights, the contrast, a factor) reach the compiled
ascent as inputs, so changing them never recompiles it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np

from mnist_viz import _fast
from mnist_viz._checks import check_int, check_non_negative_float
from mnist_viz._tf import keras, tf
from mnist_viz.data import check_images, img_size_flat
from mnist_viz.layers import (
    ascent_model,
    check_features,
    conv_layer_names,
    dense_layer_names,
    layer_shape,
    num_features,
    output_layer_name,
    relu_layer_name,
    resolve_layer,
)


class LayerOutputs:
    """The layer outputs of one batch of (flat) images, computed when first asked for.

    ``outputs[name]`` is the named layer's output for the whole batch;
    :meth:`take` computes layers for some images only, through a model cut at
    the deepest of them (:func:`~mnist_viz.layers.ascent_model`).
    """

    def __init__(self, model: keras.Model, flat_images):
        self.model, self.images, self._cache = model, flat_images, {}

    def prefetch(self, names: Sequence[str]) -> None:
        """Compute several layers in one pass (shared lower layers run once)."""
        names = [name for name in dict.fromkeys(names) if name not in self._cache]
        if names:
            self._cache.update(zip(names, _as_list(ascent_model(self.model, names)(self.images))))

    def __getitem__(self, name: str):
        self.prefetch([name])
        return self._cache[name]

    def take(self, names: Sequence[str], indices):
        """The named layers' outputs (a list) for the images at ``indices``."""
        return _as_list(ascent_model(self.model, names)(tf.gather(self.images, indices)))


def _as_list(outputs) -> list:
    """A Keras model's outputs as a list (a one-output model returns a tensor)."""
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


class Objective:
    """A function of a batch's layer outputs that gives one value per image.

    Each kind of objective says which layers it reads (``layers``; on a given
    model :meth:`reads`, computed together in one pass), how it reads in a report
    (``description``), how many images it is for if that is fixed
    (``batch_size``), and three things for the compiled loop: its numbers
    (:meth:`arrays`, fed as inputs), everything else that shapes its computation
    (:meth:`key`, hashable) and the computation itself (:meth:`values`). Make
    your own with :func:`custom`.
    """

    def __init__(self, layers: Sequence[str], description: str, batch_size: int | None):
        self.layers, self.description, self.batch_size = tuple(layers), description, batch_size

    def arrays(self) -> tuple:
        """The numbers the compiled ascent receives as inputs."""
        return ()

    def key(self) -> tuple:
        """What, besides :meth:`arrays`, decides the computation (hashable)."""
        raise NotImplementedError

    def reads(self, model: keras.Model) -> tuple[str, ...]:
        """The layers :meth:`values` reads on ``model`` (default: ``layers``)."""
        return self.layers

    def prepare(self, model: keras.Model, arrays):
        """:meth:`arrays` as :meth:`values` reads them, worked out from the model's
        weights before the steps (default: as they are)."""
        return arrays

    def values(self, outputs: LayerOutputs, arrays) -> tf.Tensor:
        """Per-image values, shape (n,), from the layer outputs and the prepared
        :meth:`arrays`."""
        raise NotImplementedError

    def __call__(self, outputs: LayerOutputs) -> tf.Tensor:
        arrays = tf.nest.map_structure(tf.constant, self.arrays())
        return self.values(outputs, self.prepare(outputs.model, arrays))

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.description}>"

    def __add__(self, other: Objective) -> Objective:
        if not isinstance(other, Objective):
            return NotImplemented
        return Sum(self, other)

    def __mul__(self, factor: float) -> Objective:
        if (
            isinstance(factor, bool)
            or not isinstance(factor, numbers.Real)
            or not (math.isfinite(factor))
        ):
            return NotImplemented
        return Scaled(self, float(factor))

    __rmul__ = __mul__

    def __neg__(self) -> Objective:
        return self * -1.0

    def __sub__(self, other: Objective) -> Objective:
        if not isinstance(other, Objective):
            return NotImplemented
        return self + (-other)


class Custom(Objective):
    """An objective given as a function of the layer outputs (see :func:`custom`)."""

    def __init__(
        self, function: Callable, layers: Sequence[str], description: str, batch_size: int | None
    ):
        super().__init__(layers, description, batch_size)
        self.function = function

    def key(self) -> tuple:
        return ("custom", self.function, self.layers, self.batch_size)

    def values(self, outputs, arrays):
        return self.function(outputs)


def custom(
    function: Callable,
    layers: Sequence[str],
    description: str = "custom objective",
    batch_size: int | None = None,
) -> Objective:
    """Your own objective: ``function(outputs)`` returns one value per image, shape
    (n,), where ``outputs[name]`` is a layer's output for the whole batch.

    ``layers`` names the layers it reads; ``batch_size`` fixes the number of
    images (otherwise give start images to the ascent).
    """
    if not callable(function):
        raise TypeError(f"function must be callable, got {type(function).__name__}.")
    if isinstance(layers, str) or not all(isinstance(name, str) for name in layers):
        raise TypeError(f"layers must be a list of layer names, got {layers!r}.")
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, 1)
    return Custom(function, layers, description, batch_size)


def _same_batch_size(a: Objective, b: Objective) -> int | None:
    if a.batch_size is not None and b.batch_size is not None and a.batch_size != b.batch_size:
        raise ValueError(
            f"cannot add objectives for {a.batch_size} and {b.batch_size} "
            f"images: {a.description!r} + {b.description!r}."
        )
    return a.batch_size if a.batch_size is not None else b.batch_size


class Sum(Objective):
    """The sum of two objectives, image by image."""

    def __init__(self, first: Objective, second: Objective):
        super().__init__(
            first.layers + second.layers,
            f"{first.description} + {second.description}",
            _same_batch_size(first, second),
        )
        self.parts = (first, second)

    def arrays(self) -> tuple:
        return tuple(part.arrays() for part in self.parts)

    def key(self) -> tuple:
        return ("sum", *(part.key() for part in self.parts))

    def reads(self, model):
        return tuple(name for part in self.parts for name in part.reads(model))

    def prepare(self, model, arrays):
        return tuple(part.prepare(model, a) for part, a in zip(self.parts, arrays))

    def values(self, outputs, arrays):
        return sum(part.values(outputs, a) for part, a in zip(self.parts, arrays))


class Scaled(Objective):
    """An objective times a number (the number is an input, not a constant)."""

    def __init__(self, inner: Objective, factor: float):
        super().__init__(inner.layers, f"{factor:g} * ({inner.description})", inner.batch_size)
        self.inner, self.factor = inner, factor

    def arrays(self) -> tuple:
        return (np.float32(self.factor), self.inner.arrays())

    def key(self) -> tuple:
        return ("scaled", self.inner.key())

    def reads(self, model):
        return self.inner.reads(model)

    def prepare(self, model, arrays):
        return arrays[0], self.inner.prepare(model, arrays[1])

    def values(self, outputs, arrays):
        return arrays[0] * self.inner.values(outputs, arrays[1])


# ---------------------------------------------------------------------------
# Linear objectives of one image, and their batch
# ---------------------------------------------------------------------------

MEAN, FULL = "mean", "full"  # a conv layer read as channel means, or position by position


class Linear(Objective):
    """A linear function of layer outputs, for one image.

    ``weights`` maps ``(layer name, reading)`` to an array: with reading
    ``"mean"`` a conv layer's channel means are weighted (shape: channels), with
    ``"full"`` the output itself (shape: the layer's output shape). Sums and
    multiples stay linear, and a list of them runs as one batch
    (:func:`per_image`), each image through the network only as far as it needs.
    """

    def __init__(self, weights: dict, description: str):
        super().__init__(tuple(name for name, _ in weights), description, batch_size=1)
        self.weights = {part: np.asarray(w, np.float32) for part, w in weights.items()}

    def arrays(self) -> tuple:
        return tuple(self.weights[part][None] for part in sorted(self.weights))

    def key(self) -> tuple:
        return ("linear", tuple(sorted(self.weights)))

    def values(self, outputs, arrays):
        return _linear_values(
            [outputs[name] for name, _ in sorted(self.weights)], sorted(self.weights), arrays
        )

    def __add__(self, other):
        if not isinstance(other, Linear):
            return super().__add__(other)
        weights = dict(self.weights)
        for part, w in other.weights.items():
            weights[part] = weights[part] + w if part in weights else w
        return Linear(weights, f"{self.description} + {other.description}")

    def __mul__(self, factor):
        if (
            isinstance(factor, bool)
            or not isinstance(factor, numbers.Real)
            or not (math.isfinite(factor))
        ):
            return NotImplemented
        return Linear(
            {part: np.float32(factor) * w for part, w in self.weights.items()},
            f"{factor:g} * ({self.description})",
        )

    __rmul__ = __mul__


def _linear_values(layer_outputs, parts, weights):
    """Per image: sum over parts of (output or its channel means) * weights."""
    total = 0.0
    for output, (_, reading), w in zip(layer_outputs, parts, weights):
        if reading == MEAN:
            output = tf.reduce_mean(output, axis=[1, 2])
        total += tf.reduce_sum(output * w, axis=list(range(1, len(w.shape))))
    return total


class PerImage(Objective):
    """Linear objectives, one per image, as one batch objective.

    Images that read the same layers form a group; each group runs through a
    model cut at its deepest layer, so an image for ``layer_conv1`` never pays
    for the dense layers.
    """

    def __init__(self, objectives: Sequence[Linear]):
        groups: dict[tuple, list[int]] = {}
        for i, objective in enumerate(objectives):
            groups.setdefault(tuple(sorted(objective.weights)), []).append(i)
        self.groups = [(parts, np.asarray(indices, np.int32)) for parts, indices in groups.items()]
        self.objectives = list(objectives)
        layers = _layers_of(self.groups[0][0]) if len(self.groups) == 1 else ()
        super().__init__(layers, f"{len(objectives)} per-image objectives", len(objectives))

    def arrays(self) -> tuple:
        return tuple(
            (
                indices,
                tuple(
                    np.stack([self.objectives[i].weights[part] for i in indices]) for part in parts
                ),
            )
            for parts, indices in self.groups
        )

    def key(self) -> tuple:
        return (
            "per_image",
            self.batch_size,
            tuple((parts, len(indices)) for parts, indices in self.groups),
        )

    def reads(self, model):
        return self._reads(model, 0) if len(self.groups) == 1 else ()

    def _sources(self, model: keras.Model, group: int) -> tuple[str, ...] | None:
        """With :mod:`mnist_viz._fast` on, the layers the group's layers read, to
        read instead of them; None for the layers themselves."""
        if not _fast.enabled():
            return None
        return _fast.linear_inputs(model, _layers_of(self.groups[group][0]))

    def _reads(self, model: keras.Model, group: int) -> tuple[str, ...]:
        sources = self._sources(model, group)
        return tuple(dict.fromkeys(sources or _layers_of(self.groups[group][0])))

    def prepare(self, model, arrays):
        return tuple(
            (indices, self._prepared(model, group, weights))
            for group, (indices, weights) in enumerate(arrays)
        )

    def _prepared(self, model: keras.Model, group: int, weights):
        parts, members = self.groups[group]
        sources = self._sources(model, group)
        if sources is None:
            return weights
        return _fast.input_weights(
            model,
            _layers_of(parts),
            sources,
            lambda outputs: _linear_values(outputs, parts, weights),
            len(members),
        )

    def values(self, outputs, arrays):
        if len(self.groups) == 1:  # every image reads the same layers: no gather needed
            return self._group_values(0, outputs, None, arrays[0][1])
        pieces = [
            self._group_values(group, outputs, indices, weights)
            for group, (indices, weights) in enumerate(arrays)
        ]
        return tf.dynamic_stitch([indices for indices, _ in arrays], pieces)

    def _group_values(self, group: int, outputs: LayerOutputs, indices, weights):
        """The values of the group's images (of all images for ``indices`` None)."""
        parts = self.groups[group][0]
        names = self._reads(outputs.model, group)
        read = (
            [outputs[name] for name in names] if indices is None else outputs.take(names, indices)
        )
        read = dict(zip(names, read))
        sources = self._sources(outputs.model, group)
        if sources is None:
            return _linear_values([read[name] for name in _layers_of(parts)], parts, weights)
        return _fast.from_inputs([read[source] for source in sources], *weights)


def _layers_of(parts) -> tuple[str, ...]:
    """The layer names of ``(layer name, reading)`` parts."""
    return tuple(name for name, _ in parts)


def per_image(objectives: Sequence[Objective]) -> Objective:
    """A list of one-image objectives as one batch objective (image ``i`` maximises
    ``objectives[i]``)."""
    if isinstance(objectives, Objective) or not isinstance(objectives, Sequence):
        raise TypeError(
            f"objectives must be a list of objectives, one per image, "
            f"got {type(objectives).__name__}."
        )
    if not objectives:
        raise ValueError("objectives is empty; give at least one objective.")
    for i, objective in enumerate(objectives):
        if not isinstance(objective, Linear):
            raise TypeError(
                f"objectives[{i}] must be a one-image objective (channel, neuron, "
                f"unit, logit or their sums), got {objective!r}; combine "
                "batch objectives with + instead."
            )
    return PerImage(objectives)


def _one_feature(model: keras.Model, layer, index) -> tuple[str, tuple[int, ...], int]:
    """The layer's name and output shape, and the checked feature index."""
    layer_name = resolve_layer(model, layer)
    (index,) = check_features(model, layer_name, [index])
    return layer_name, layer_shape(model, layer_name), index


def channel(model: keras.Model, layer: int | str, index: int) -> Linear:
    """The mean of one conv channel over all positions (the reference's objective)."""
    layer_name, shape, index = _one_feature(model, layer, index)
    if len(shape) != 3:
        raise ValueError(
            f"channel objectives need a conv layer; {layer_name} is not one. "
            f"Conv layers: {conv_layer_names(model)}; use unit() for dense layers."
        )
    return _channel(layer_name, shape, index)


def neuron(model: keras.Model, layer: int | str, index: int, x: int, y: int) -> Linear:
    """One conv channel's value at position (x, y) of its feature map."""
    layer_name, shape, index = _one_feature(model, layer, index)
    if len(shape) != 3:
        raise ValueError(
            f"neuron objectives need a conv layer; {layer_name} is not one. "
            f"Conv layers: {conv_layer_names(model)}."
        )
    x = check_int("x", x, 0, shape[1] - 1)
    y = check_int("y", y, 0, shape[0] - 1)
    weights = np.zeros(shape, np.float32)
    weights[y, x, index] = 1.0
    return Linear({(layer_name, FULL): weights}, f"{layer_name}[{y}, {x}, {index}]")


def unit(model: keras.Model, layer: str, index: int) -> Linear:
    """One unit of a dense layer, before its ReLU."""
    layer_name, shape, index = _one_feature(model, layer, index)
    if len(shape) != 1:
        raise ValueError(
            f"unit objectives need a dense layer; {layer_name} is a conv "
            f"layer. Dense layers: {dense_layer_names(model)}."
        )
    return _unit(layer_name, shape, index)


def logit(model: keras.Model, digit: int, contrast: float = 0.0) -> Linear:
    """The logit of ``digit``, minus ``contrast`` times the mean of the other logits.

    With ``contrast`` > 0 the image must look like this digit *rather than* any
    other, not just raise every logit at once.
    """
    layer_name, shape, digit = _one_feature(model, None, digit)
    return _logit(layer_name, shape, digit, check_non_negative_float("contrast", contrast))


def feature(
    model: keras.Model, layer: int | str | None, index: int, contrast: float = 0.0
) -> Linear:
    """The tutorial's objective for one feature of a layer: a conv channel's mean,
    a dense unit, or a logit (with ``contrast``)."""
    layer_name, _, index = _one_feature(model, layer, index)
    return _feature(model, layer_name, index, check_non_negative_float("contrast", contrast))


def layer_objectives(
    model: keras.Model,
    layer: int | str | None,
    features: Sequence[int] | None = None,
    contrast: float = 0.0,
) -> list[Linear]:
    """One objective per feature of a layer (default: all of its features)."""
    layer_name = resolve_layer(model, layer)
    if features is None:
        features = range(num_features(model, layer_name))
    features = check_features(model, layer_name, features)
    contrast = check_non_negative_float("contrast", contrast)
    return [_feature(model, layer_name, index, contrast) for index in features]


# The objectives of checked arguments: a layer's name, its output shape and a valid index.


def _feature(model: keras.Model, layer_name: str, index: int, contrast: float) -> Linear:
    shape = layer_shape(model, layer_name)
    if layer_name == output_layer_name(model):
        return _logit(layer_name, shape, index, contrast)
    if layer_name in conv_layer_names(model):
        return _channel(layer_name, shape, index)
    return _unit(layer_name, shape, index)


def _channel(layer_name: str, shape: tuple[int, ...], index: int) -> Linear:
    weights = np.zeros(shape[-1], np.float32)
    weights[index] = 1.0
    return Linear({(layer_name, MEAN): weights}, f"{layer_name}[:, :, {index}] mean")


def _unit(layer_name: str, shape: tuple[int, ...], index: int) -> Linear:
    weights = np.zeros(shape, np.float32)
    weights[index] = 1.0
    return Linear({(layer_name, FULL): weights}, f"{layer_name}[{index}]")


def _logit(layer_name: str, shape: tuple[int, ...], digit: int, contrast: float) -> Linear:
    weights = np.full(shape, -contrast / (shape[0] - 1), np.float32)
    weights[digit] = 1.0
    text = f"logit {digit}" + (f" - {contrast:g} * mean(other logits)" if contrast else "")
    return Linear({(layer_name, FULL): weights}, text)


# ---------------------------------------------------------------------------
# Batch-coupled objectives
# ---------------------------------------------------------------------------


class Diversity(Objective):
    """Minus the mean Gram-matrix cosine similarity of each image to the other
    images of its group, at one layer's ReLU output (Olah et al., 2017)."""

    def __init__(self, layer_name: str, groups: np.ndarray):
        super().__init__((layer_name,), f"diversity at {layer_name}", len(groups))
        self.groups = groups

    def arrays(self) -> tuple:
        same = self.groups[:, None] == self.groups[None, :]
        np.fill_diagonal(same, False)
        return (same.astype(np.float32),)

    def key(self) -> tuple:
        return ("diversity", self.layers, self.batch_size)

    def values(self, outputs, arrays):
        return -gram_similarity(outputs[self.layers[0]], arrays[0])


def gram_similarity(activations, partners) -> tf.Tensor:
    """Per image: the mean cosine similarity of its Gram matrix (channel by channel
    correlations over positions) to those of its ``partners`` (an n x n 0/1 matrix)."""
    shape = tf.shape(activations)
    flat = tf.reshape(activations, (shape[0], -1, shape[-1]))
    gram = tf.reshape(tf.einsum("npc,npd->ncd", flat, flat), (shape[0], -1))
    unit_gram = tf.math.l2_normalize(gram, axis=1)
    cosine = tf.matmul(unit_gram, unit_gram, transpose_b=True)
    return tf.reduce_sum(cosine * partners, axis=1) / tf.reduce_sum(partners, axis=1)


def diversity(model: keras.Model, layer: int | str, groups: Sequence[int]) -> Diversity:
    """An objective that rewards images of one group for differing from each other.

    ``groups[i]`` names image ``i``'s group (e.g. the digit it is drawn for);
    every group needs at least two images. Add it to the images' own objective
    with a weight: ``per_image(objectives) + 10 * diversity(model, 1, digits)``.
    """
    layer_name = resolve_layer(model, layer)
    if len(layer_shape(model, layer_name)) != 3:
        raise ValueError(
            f"diversity compares conv feature maps; {layer_name} is not a conv "
            f"layer. Conv layers: {conv_layer_names(model)}."
        )
    groups = np.asarray(groups)
    if groups.ndim != 1 or groups.dtype.kind not in "iu":
        raise TypeError(f"groups must be whole numbers, one per image, got {groups!r}.")
    if len(groups) < 2:
        raise ValueError(
            f"diversity needs at least two images to compare, got {len(groups)}; "
            "optimise several images per feature."
        )
    labels, counts = np.unique(groups, return_counts=True)
    if counts.min() < 2:
        raise ValueError(
            f"diversity needs at least two images per group; group "
            f"{labels[counts.argmin()]} has one. groups: {groups.tolist()}."
        )
    return Diversity(relu_layer_name(layer_name), groups)


def evaluate(model: keras.Model, objective: Objective | Sequence[Objective], images) -> np.ndarray:
    """The objective's per-image values on ``images`` (image ``i`` for objective ``i``
    when a list is given)."""
    if not isinstance(objective, Objective):
        objective = per_image(objective)
    images = check_images("images", images, count=objective.batch_size)
    outputs = LayerOutputs(model, tf.constant(images.reshape(-1, img_size_flat)))
    return objective(outputs).numpy()
