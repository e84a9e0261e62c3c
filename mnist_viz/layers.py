"""Which layers a network has, and how to name and read them.

A layer is named the same way everywhere in the package (``layer``): an index
into the conv layers, the name of a conv or dense layer, or ``None`` /
``"logits"`` for the output layer. Features are read *before* their ReLU (the
reference maximised the Conv2D op's output), so every conv and dense layer must
be linear with its ReLU as a separate layer named ``<name>_relu``;
:func:`check_linear_layers` says so clearly when a model breaks that rule.
:func:`layer_model` cuts a model at named layers; :func:`ascent_model` does the
same for gradient ascent.
"""

from __future__ import annotations

import numbers
import weakref
from collections.abc import Sequence

import numpy as np

from mnist_viz import _fast
from mnist_viz._checks import check_non_negative_int
from mnist_viz._tf import keras
from mnist_viz.model import OUTPUT_LAYER

LOGITS = "logits"
_checked_models: weakref.WeakSet = weakref.WeakSet()
_cut_models: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_layer_names: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def conv_layer_names(model: keras.Model) -> list[str]:
    """Names of the model's convolutional layers, found by inspecting it."""
    return list(_names_by_kind(model)[0])


def dense_layer_names(model: keras.Model) -> list[str]:
    """Names of the model's fully connected layers, the output layer last."""
    return list(_names_by_kind(model)[1])


def _names_by_kind(model: keras.Model) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The conv and the dense layers' names, read once per model (Keras builds its
    layer list anew on every access, and an ascent asks many times per call). As
    the other per-model caches here, it takes a model's layers as fixed once used."""
    if model not in _layer_names:
        layers = model.layers
        _layer_names[model] = tuple(
            tuple(layer.name for layer in layers if isinstance(layer, kind))
            for kind in (keras.layers.Conv2D, keras.layers.Dense)
        )
    return _layer_names[model]


def output_layer_name(model: keras.Model) -> str:
    """The layer whose outputs are the logits."""
    try:
        return model.get_layer(OUTPUT_LAYER).name
    except ValueError:
        return model.layers[-1].name


def relu_layer_name(layer_name: str) -> str:
    """The name of the ReLU layer that follows a linear conv or dense layer."""
    return f"{layer_name}_relu"


def check_linear_layers(model: keras.Model) -> keras.Model:
    """The model, if every conv and dense layer is linear and, but for the output
    layer, has its ReLU as a layer named ``<name>_relu`` (checked once per model).

    A layer with its activation built in (``Conv2D(..., activation="relu")``)
    hides the value before the ReLU, where a silenced feature still has a gradient.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}.")
    if model in _checked_models:
        return model
    names = {layer.name for layer in model.layers}
    output = output_layer_name(model)
    for layer in model.layers:
        if not isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            continue
        activation = _activation_name(layer)
        relu = relu_layer_name(layer.name)
        if activation != "linear":
            raise ValueError(
                f"layer {layer.name!r} has its activation ({activation}) built in; the "
                "features are read before the ReLU. Build it linear and add the ReLU as "
                f"its own layer: keras.layers.ReLU(name={relu!r})."
            )
        if layer.name != output and relu not in names:
            raise ValueError(
                f"layer {layer.name!r} has no ReLU layer named {relu!r} after it; add "
                f"keras.layers.ReLU(name={relu!r}) (see mnist_viz.build_cnn)."
            )
    _checked_models.add(model)
    return model


def _activation_name(layer) -> str:
    """The name of a layer's built-in activation ("linear" for none)."""
    return getattr(layer.activation, "__name__", str(layer.activation))


def resolve_layer(model: keras.Model, layer: int | str | None) -> str:
    """The layer name meant by ``layer``: an index into the conv layer list, the
    name of a conv or dense layer, or None or ``"logits"`` for the output layer."""
    check_linear_layers(model)
    names = conv_layer_names(model)
    if layer is None or layer == LOGITS:
        return output_layer_name(model)
    if isinstance(layer, str):
        valid = names + dense_layer_names(model)
        if layer in valid:
            return layer
        raise ValueError(
            f"unknown layer {layer!r}; valid names: {valid}, or None / "
            f"{LOGITS!r} for the output layer."
        )
    if isinstance(layer, bool) or not isinstance(layer, numbers.Integral):
        raise TypeError(
            f"layer must be an index into {names}, one of those names, or "
            f"None / {LOGITS!r}, got {layer!r} ({type(layer).__name__})."
        )
    if not names:
        raise ValueError(
            f"the model has no convolutional layers; use layer={LOGITS!r} for the output layer."
        )
    if not 0 <= layer < len(names):
        raise ValueError(
            f"layer {layer} is out of range: valid indices are 0..{len(names) - 1} for {names}."
        )
    return names[layer]


def layer_shape(model: keras.Model, layer_name: str) -> tuple[int, ...]:
    """The shape of one image's output of the named layer (batch left out)."""
    return tuple(int(d) for d in model.get_layer(layer_name).output.shape[1:])


def num_features(model: keras.Model, layer_name: str) -> int:
    """How many features (channels or units) the named layer has."""
    return layer_shape(model, layer_name)[-1]


def check_features(model: keras.Model, layer_name: str, features) -> list[int]:
    """``features`` as a list of valid feature indices of the named layer."""
    count = num_features(model, layer_name)
    if isinstance(features, (numbers.Integral, str, bytes)) or not isinstance(
        features, (Sequence, range, np.ndarray)
    ):
        raise TypeError(f"features must be a sequence of feature indices, got {features!r}.")
    if len(features) == 0:
        raise ValueError("features is empty; give at least one feature index.")
    checked = []
    for feature in features:
        feature = check_non_negative_int("feature", feature)
        if feature >= count:
            raise ValueError(
                f"feature {feature} is out of range for {layer_name}, which has "
                f"{count} features: valid indices are 0..{count - 1}."
            )
        checked.append(feature)
    return checked


def layer_model(model: keras.Model, layer_names: Sequence[str]) -> keras.Model:
    """A model from the input image to the named layers' outputs, cut at the
    deepest of them; built once per model and names. It returns a list, or one
    tensor for one name (as Keras does)."""
    per_model = _cut_models.setdefault(model, {})
    key = tuple(layer_names)
    if key not in per_model:
        outputs = [model.get_layer(name).output for name in key]
        per_model[key] = keras.Model(model.inputs[0], outputs)
    return per_model[key]


def ascent_model(model: keras.Model, layer_names: Sequence[str]):
    """Like :func:`layer_model`, a function from flat input images to the named
    layers' outputs, for gradient ascent: with :mod:`mnist_viz._fast` on, the same
    outputs with a faster input gradient through the first conv layer, where it fits."""
    key = tuple(layer_names)
    convs = conv_layer_names(model)
    if _fast.enabled() and convs:
        faster = _fast.first_conv_model(model, model.get_layer(convs[0]), key)
        if faster is not None:
            return faster
    return layer_model(model, key)
