"""The ascent's three speed tricks, behind one switch.

Each computes what the straightforward code computes, faster; :func:`disabled`
(or ``MNIST_VIZ_FAST=0`` in the environment) runs the straightforward code
instead. Only :mod:`mnist_viz.layers`, :mod:`mnist_viz.objectives` and
:mod:`mnist_viz.ascent` ask :func:`enabled`.

1. Read a linear layer's input (:func:`linear_inputs`, for
   ``objectives.PerImage``). A conv or dense layer is linear, so a linear
   objective of its output (a channel's mean, a unit, a logit with contrast) is
   a linear function of its *input*: the weights are the gradient the layer
   passes back, the same for every input, plus the objective's value at an
   input of zeros (the biases' share). Both are worked out once per run
   (:func:`input_weights`); then a ``layer_conv2`` feature's images never run
   ``layer_conv2``, and a ``layer_conv1`` feature's gradient needs no network.
   Exact in real numbers; in floats equal up to rounding.
2. The first layer's input gradient as depthwise convolutions
   (:func:`first_conv_model`). TensorFlow's CPU kernel for a convolution's
   input gradient is slow when the input has one channel; correlating the
   output gradient with the flipped kernel, one depthwise convolution per
   channel summed over the channels, is the same sum in another order (measured
   3.6x faster for the tutorial's first conv layer). The forward pass is Keras' own.
3. The compiled loop (:func:`compiled_loop`): many steps in one ``tf.function``
   call, a ``tf.while_loop`` that writes each step's records into a
   ``TensorArray``, instead of one call from Python per step. The steps are the
   same ops, so the images are the same; only Python's overhead goes.

How much faster, everything on against everything off: ``make bench``, table
"The speed tricks" in bench/RESULTS.md (on this project's 2-core CPU: 1.4x to
2.3x, and 34x for ``layer_conv1`` channels, whose gradient then needs no
network). ``MNIST_VIZ_FAST`` is read once, when the package loads.
"""

from __future__ import annotations

import contextlib
import os
import weakref

from mnist_viz._tf import keras, tf

_switch = {"on": os.environ.get("MNIST_VIZ_FAST", "1") != "0"}
_first_conv_models: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def enabled() -> bool:
    """Whether the speed tricks are on (the default)."""
    return _switch["on"]


@contextlib.contextmanager
def disabled():
    """Run the straightforward code inside the ``with`` block."""
    before, _switch["on"] = _switch["on"], False
    try:
        yield
    finally:
        _switch["on"] = before


# ---------------------------------------------------------------------------
# 1. A linear objective of a layer, read from that layer's input
# ---------------------------------------------------------------------------


def linear_inputs(model: keras.Model, layer_names) -> tuple[str, ...] | None:
    """The layer each named conv or dense layer reads, or None where one reads
    anything but one layer's output."""
    sources = tuple(_input_layer_name(model, name) for name in layer_names)
    return None if None in sources else sources


def _input_layer_name(model: keras.Model, layer_name: str) -> str | None:
    """The name of the layer whose output is the named layer's only input, or None
    where it has several (for a layer called more than once: its first call's)."""
    try:
        source = model.get_layer(layer_name).input
    except (AttributeError, ValueError):
        return None
    if isinstance(source, (list, tuple, dict)):
        return None
    for layer in model.layers:
        try:
            if layer.output is source:
                return layer.name
        except (AttributeError, ValueError):
            continue
    return None


def input_weights(model: keras.Model, layer_names, sources, linear_function, count: int):
    """``linear_function`` (the named layers' outputs -> one value per image, for
    ``count`` images) as weights on the layers' inputs, one array per layer, and
    its value at inputs of zeros."""
    zeros = [tf.zeros((count, *model.get_layer(source).output.shape[1:])) for source in sources]
    with tf.GradientTape() as tape:
        tape.watch(zeros)
        at_zero = linear_function([model.get_layer(name)(z) for name, z in zip(layer_names, zeros)])
    return tuple(tape.gradient(at_zero, zeros)), at_zero


def from_inputs(inputs, weights, at_zero):
    """Per image: the objective from its layers' inputs and :func:`input_weights`."""
    total = at_zero
    for source, w in zip(inputs, weights):
        total += tf.reduce_sum(source * w, axis=list(range(1, len(w.shape))))
    return total


# ---------------------------------------------------------------------------
# 2. The first conv layer's input gradient as depthwise convolutions
# ---------------------------------------------------------------------------


def first_conv_model(model: keras.Model, conv, layer_names: tuple[str, ...]):
    """``input -> head -> conv -> tail`` as a function from flat images to the named
    layers' outputs, with the conv through :func:`one_channel_conv`; None when
    ``conv`` (the first conv layer) does not fit it or the model bypasses it."""
    per_model = _first_conv_models.setdefault(model, {})
    if layer_names not in per_model:
        per_model[layer_names] = _split_at(model, conv, layer_names)
    return per_model[layer_names]


def _split_at(model: keras.Model, conv, layer_names: tuple[str, ...]):
    if not _fits_one_channel_conv(conv):
        return None
    try:
        head = keras.Model(model.inputs[0], conv.input)
        tail = (
            None
            if layer_names == (conv.name,)
            else keras.Model(conv.output, [model.get_layer(name).output for name in layer_names])
        )
    except ValueError:  # another path from the input bypasses the conv layer
        return None

    def outputs(images):
        first = one_channel_conv(
            head(images), tf.stop_gradient(conv.kernel), tf.stop_gradient(conv.bias)
        )
        return first if tail is None else tail(first)

    return outputs


def _fits_one_channel_conv(conv) -> bool:
    """A linear 'same', stride-1 Conv2D of one-channel images with an odd kernel."""
    return (
        type(conv) is keras.layers.Conv2D
        and getattr(conv.activation, "__name__", None) == "linear"
        and conv.input.shape[-1] == 1
        and conv.padding == "same"
        and conv.data_format == "channels_last"
        and tuple(conv.strides) == (1, 1)
        and tuple(conv.dilation_rate) == (1, 1)
        and conv.groups == 1
        and conv.use_bias
        and all(size % 2 == 1 for size in conv.kernel_size)
    )


@tf.custom_gradient
def one_channel_conv(images, kernel, bias):
    """A 'same', stride-1 convolution with an odd kernel of one-channel images
    (n, h, w, 1), plus bias, computed as Keras' Conv2D computes it. Its gradient
    with respect to the images is the output gradient correlated with the
    flipped kernel: one depthwise convolution per channel, summed over the
    channels. (The kernel and bias get no gradient.)"""
    outputs = tf.nn.convolution(images, kernel, padding="SAME") + tf.reshape(bias, (1, 1, 1, -1))

    def gradient(upstream):
        flipped = tf.reverse(kernel, [0, 1])[:, :, 0, :, None]
        per_channel = tf.nn.depthwise_conv2d(upstream, flipped, [1, 1, 1, 1], "SAME")
        return tf.reduce_sum(per_channel, axis=-1, keepdims=True), None, None

    return outputs, gradient


# ---------------------------------------------------------------------------
# 3. Many steps in one compiled call
# ---------------------------------------------------------------------------


def compiled_loop(step, first, count, records: int) -> list:
    """``step(i)`` for i = first .. first + count - 1 inside one graph; each step
    returns ``records`` tensors, and each comes back stacked, shape (count, ...)."""
    arrays = tuple(tf.TensorArray(tf.float32, size=count) for _ in range(records))

    def body(k, arrays):
        values = step(first + k)
        return k + 1, tuple(a.write(k, v) for a, v in zip(arrays, values))

    _, arrays = tf.while_loop(lambda k, _: k < count, body, (tf.constant(0), arrays))
    return [a.stack() for a in arrays]
