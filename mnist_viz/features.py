"""From a trained network to the images it likes: gradient ascent on the input.

The second optimisation of the tutorial. The network's weights stay fixed; the
pixels of an input image are changed step by step to make one feature (a conv
channel's mean, or a logit) as large as possible.

Conv features are read *before* their ReLU (the reference maximised the Conv2D
op's output), so a feature that the ReLU silences still has a gradient.
"""

from __future__ import annotations

import dataclasses
import numbers
import weakref
from collections.abc import Sequence

import numpy as np

from mnist_viz._checks import (check_images, check_non_negative_int, check_positive_int,
                               check_seed)
from mnist_viz._tf import keras, tf
from mnist_viz.data import img_shape, img_size_flat
from mnist_viz.model import OUTPUT_LAYER

_compiled_ascents: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def conv_layer_names(model: keras.Model) -> list[str]:
    """Names of the model's convolutional layers, found by inspecting it."""
    return [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def dense_layer_names(model: keras.Model) -> list[str]:
    """Names of the model's fully connected layers, the output layer last."""
    return [layer.name for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def resolve_layer(model: keras.Model, conv_id: int | str | None) -> str:
    """The layer name meant by ``conv_id``: an index into the conv layer list, the
    name of a conv or dense layer, or None for the output layer (the logits)."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}.")
    names = conv_layer_names(model)
    if conv_id is None:
        return _output_layer_name(model)
    if isinstance(conv_id, str):
        valid = names + dense_layer_names(model)
        if conv_id in valid:
            return conv_id
        raise ValueError(f"unknown layer {conv_id!r}; valid names: {valid}, "
                         "or None for the output layer.")
    if isinstance(conv_id, bool) or not isinstance(conv_id, numbers.Integral):
        raise TypeError(f"conv_id must be an index into {names}, one of those names, or "
                        f"None, got {conv_id!r} ({type(conv_id).__name__}).")
    if not names:
        raise ValueError("the model has no convolutional layers; use conv_id=None for "
                         "the output layer.")
    if not 0 <= conv_id < len(names):
        raise ValueError(f"conv_id {conv_id} is out of range: valid indices are "
                         f"0..{len(names) - 1} for {names}.")
    return names[conv_id]


def _output_layer_name(model: keras.Model) -> str:
    try:
        return model.get_layer(OUTPUT_LAYER).name
    except ValueError:
        return model.layers[-1].name


def layer_output_model(model: keras.Model, layer_name: str) -> keras.Model:
    """A model from the input image to the named layer's output."""
    return keras.Model(model.inputs[0], model.get_layer(layer_name).output)


def num_features(model: keras.Model, layer_name: str) -> int:
    """How many features (channels or units) the named layer has."""
    return int(model.get_layer(layer_name).output.shape[-1])


def _check_features(model: keras.Model, layer_name: str, features) -> list[int]:
    count = num_features(model, layer_name)
    if isinstance(features, (numbers.Integral, str, bytes)) or not isinstance(
            features, (Sequence, range, np.ndarray)):
        raise TypeError(f"features must be a sequence of feature indices, got {features!r}.")
    if len(features) == 0:
        raise ValueError("features is empty; give at least one feature index.")
    checked = []
    for feature in features:
        feature = check_non_negative_int("feature", feature)
        if feature >= count:
            raise ValueError(f"feature {feature} is out of range for {layer_name}, which has "
                             f"{count} features: valid indices are 0..{count - 1}.")
        checked.append(feature)
    return checked


def noise_images(n: int, seed: int | None = None) -> np.ndarray:
    """``n`` starting images of small noise around mid-grey, uniform in [0.45, 0.55]."""
    n = check_positive_int("n", n)
    rng = np.random.default_rng(check_seed(seed))
    return rng.uniform(0.45, 0.55, size=(n, *img_shape)).astype(np.float32)


@dataclasses.dataclass
class AscentHistory:
    """Per-iteration record of an ascent, each array of shape (iterations, n).

    Values describe the image *before* that iteration's step: the objective,
    the predicted class and its softmax score, the gradient's extremes, and
    the step size taken (0 where the gradient was all zero).
    """

    objective: np.ndarray
    predicted: np.ndarray
    score: np.ndarray
    grad_min: np.ndarray
    grad_max: np.ndarray
    step: np.ndarray


def _objective(activations, one_hot):
    """Per image: its chosen feature's mean over the image (or a unit's value)."""
    if len(activations.shape) == 4:
        activations = tf.reduce_mean(activations, axis=[1, 2])
    return tf.reduce_sum(activations * one_hot, axis=-1)


def _ascent_function(model: keras.Model, layer_name: str, record: bool = True):
    """A compiled ascent loop for one layer, built once per model, layer and
    ``record`` (whether to keep the per-iteration history, which costs a pass
    through the rest of the network)."""
    per_model = _compiled_ascents.setdefault(model, {})
    if (layer_name, record) in per_model:
        return per_model[layer_name, record]
    outputs = [model.get_layer(layer_name).output] + ([model.outputs[0]] if record else [])
    feature_model = keras.Model(model.inputs[0], outputs)

    def probe(flat_images):  # always a list: [activations] or [activations, logits]
        return feature_model(flat_images) if record else [feature_model(flat_images)]

    @tf.function(reduce_retracing=True)
    def ascend(images, one_hot, num_iterations):
        n = tf.shape(images)[0]
        records = [tf.TensorArray(tf.float32, size=num_iterations if record else 0)
                   for _ in range(6)]
        for i in tf.range(num_iterations):
            with tf.GradientTape() as tape:
                tape.watch(images)
                outputs = probe(tf.reshape(images, (n, img_size_flat)))
                objective = _objective(outputs[0], one_hot)
                total = tf.reduce_sum(objective)  # images are independent: one gradient each
            grad = tape.gradient(total, images)
            std = tf.math.reduce_std(grad, axis=[1, 2])
            step = tf.where(std > 0, 1.0 / (std + 1e-8), tf.zeros_like(std))
            images = tf.clip_by_value(images + step[:, None, None] * grad, 0.0, 1.0)
            if record:
                probs = tf.nn.softmax(outputs[1])
                values = (objective, tf.cast(tf.argmax(probs, axis=1), tf.float32),
                          tf.reduce_max(probs, axis=1), tf.reduce_min(grad, axis=[1, 2]),
                          tf.reduce_max(grad, axis=[1, 2]), step)
                records = [r.write(i, v) for r, v in zip(records, values)]
        return images, [r.stack() for r in records] if record else []

    per_model[layer_name, record] = ascend
    return ascend


def ascend(model: keras.Model, conv_id: int | str | None, features: Sequence[int],
           start: np.ndarray, num_iterations: int = 30,
           record: bool = True) -> tuple[np.ndarray, AscentHistory | None]:
    """Gradient ascent for several features at once, one start image each.

    Image ``i`` is optimised for ``features[i]``; all images share one gradient
    call per iteration. Each step is the gradient scaled by 1 / (its standard
    deviation + 1e-8), and pixels are clipped to [0, 1] after every step.

    Returns:
        The optimised images, shape (n, 28, 28), and the per-iteration history
        (None with ``record=False``, which skips the history for speed).
    """
    layer_name = resolve_layer(model, conv_id)
    features = _check_features(model, layer_name, features)
    start = check_images("start", start, count=len(features))
    num_iterations = check_positive_int("num_iterations", num_iterations)
    one_hot = np.eye(num_features(model, layer_name), dtype=np.float32)[features]
    run = _ascent_function(model, layer_name, bool(record))
    images, records = run(tf.constant(start), tf.constant(one_hot), tf.constant(num_iterations))
    if not record:
        return images.numpy(), None
    history = AscentHistory(*(r.numpy() for r in records))
    history.predicted = history.predicted.astype(np.int64)
    return images.numpy(), history


def optimize_images(model: keras.Model, conv_id: int | str | None = None,
                    features: Sequence[int] = range(10), num_iterations: int = 30,
                    seed: int | None = None, start: np.ndarray | None = None) -> np.ndarray:
    """Images that maximise each of ``features`` (default: the first 10) of a layer,
    all optimised together in one batch. Returns an array (n, 28, 28) in [0, 1].

    ``conv_id`` is an index into :func:`conv_layer_names`, the name of a conv or
    dense layer, or None for the output layer, whose features are the digits' logits.
    A dense layer's feature is one unit's value (before its ReLU).
    """
    layer_name = resolve_layer(model, conv_id)
    features = _check_features(model, layer_name, features)
    if start is None:
        start = noise_images(len(features), seed)
    print(f"Layer {layer_name}: optimising {len(features)} images together, "
          f"{num_iterations} iterations.")
    images, _ = ascend(model, layer_name, features, start, num_iterations, record=False)
    return images


def optimize_image(model: keras.Model, conv_id: int | str | None = None, feature: int = 0,
                   num_iterations: int = 30, show_progress: bool = True,
                   seed: int | None = None, start: np.ndarray | None = None) -> np.ndarray:
    """The image that maximises one feature, shape (28, 28), values in [0, 1].

    With ``show_progress`` it prints, per iteration, the predicted class and its
    score, the gradient's min and max, the step size and the objective.
    """
    if start is None:
        start = noise_images(1, seed)
    images, history = ascend(model, conv_id, [feature], np.reshape(start, (1, *img_shape)),
                             num_iterations)
    if show_progress:
        print_progress(history)
    return images[0]


def print_progress(history: AscentHistory, index: int = 0) -> None:
    """Print one image's ascent, one line per iteration."""
    for i in range(len(history.objective)):
        if history.step[i, index] == 0:
            gradient = "no gradient (the feature does not respond to the image)"
        else:
            gradient = (f"gradient min {history.grad_min[i, index]:+.6f}, "
                        f"max {history.grad_max[i, index]:+.6f}, "
                        f"step size {history.step[i, index]:.2f}")
        print(f"Iteration {i:>3}: predicted {history.predicted[i, index]} "
              f"({history.score[i, index]:7.2%}), {gradient}, "
              f"objective {history.objective[i, index]:.4f}")


def feature_objective(model: keras.Model, conv_id: int | str | None, feature: int,
                      images) -> np.ndarray:
    """The objective that the ascent maximises, evaluated on each of ``images``."""
    layer_name = resolve_layer(model, conv_id)
    (feature,) = _check_features(model, layer_name, [feature])
    images = check_images("images", images).reshape(-1, img_size_flat)
    activations = layer_output_model(model, layer_name)(images, training=False)
    one_hot = np.eye(num_features(model, layer_name), dtype=np.float32)[[feature] * len(images)]
    return _objective(activations, one_hot).numpy()
