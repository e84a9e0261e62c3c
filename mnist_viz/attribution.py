"""Which pixels decide: attribution maps for real digits, and tests that a map
means something.

    saliency             |gradient of the target logit| (Simonyan et al., 2014)
    gradient_input       gradient x image
    smoothgrad           |mean gradient over noisy copies| (Smilkov et al., 2017)
    integrated_gradients gradients along the straight path from a baseline,
                         times (image - baseline) (Sundararajan et al., 2017)
    gradcam              class-weighted conv feature maps, upsampled (Selvaraju
                         et al., 2017)
    occlusion            the logit's drop when a patch is blanked, per pixel
    attribute            any of them by name, for a batch

Every method takes images (n, 784) or (n, 28, 28) in [0, 1] and one target class
per image, and returns maps of shape (n, 28, 28). The gradients are computed in
batches by one compiled function per model. The sanity checks (Adebayo et al.,
2018) live at the end: layers re-initialised from the top down, Spearman rank
correlation between maps, and deletion / insertion curves.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import numpy as np
from scipy.ndimage import maximum_filter
from scipy.special import softmax
from scipy.stats import rankdata

from mnist_viz._checks import (
    check_non_negative_int,
    check_positive_float,
    check_positive_int,
    check_seed,
)
from mnist_viz._tf import keras, tf
from mnist_viz.data import check_classes, check_images, img_shape, img_size_flat
from mnist_viz.layers import (
    conv_layer_names,
    dense_layer_names,
    layer_model,
    output_layer_name,
    relu_layer_name,
    resolve_layer,
)
from mnist_viz.starts import DEFAULT_SEED

SMOOTHGRAD_SAMPLES = 25
SMOOTHGRAD_NOISE = 0.15  # standard deviation, as a share of the pixel range [0, 1]
IG_STEPS = 32
OCCLUSION_PATCH = 4
BATCH_SIZE = 1000

_gradient_functions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _check_batch(images, targets) -> tuple[np.ndarray, np.ndarray]:
    images = check_images("images", images).reshape(-1, img_size_flat)
    return images, check_classes("targets", targets, len(images))


def _in_batches(function, arrays: tuple, batch_size: int):
    """``function`` called on consecutive slices of ``arrays`` (as tensors), its
    output (or each of its outputs) joined back into one NumPy array."""
    parts = [
        function(*(tf.constant(array[start : start + batch_size]) for array in arrays))
        for start in range(0, len(arrays[0]), batch_size)
    ]
    if isinstance(parts[0], (tuple, list)):
        return tuple(
            np.concatenate([part[i].numpy() for part in parts]) for i in range(len(parts[0]))
        )
    return np.concatenate([part.numpy() for part in parts])


def _gradient_function(model: keras.Model):
    """The compiled function (images, targets) -> (target logits, their gradients
    with respect to the pixels), built once per model."""
    if model not in _gradient_functions:
        model_ref = weakref.ref(model)

        @tf.function(reduce_retracing=True, autograph=False)
        def gradients(images, targets):
            with tf.GradientTape() as tape:
                tape.watch(images)
                logits = model_ref()(images, training=False)
                chosen = tf.gather(logits, targets, batch_dims=1)
            return chosen, tape.gradient(chosen, images)

        _gradient_functions[model] = gradients
    return _gradient_functions[model]


def target_logits_and_gradients(
    model: keras.Model, images, targets, batch_size: int = BATCH_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """Each image's logit for its target class, and that logit's gradient with
    respect to the pixels (n, 784), computed in batches."""
    images, targets = _check_batch(images, targets)
    batch_size = check_positive_int("batch_size", batch_size)
    return _in_batches(_gradient_function(model), (images, targets), batch_size)


def _as_maps(flat: np.ndarray) -> np.ndarray:
    return flat.reshape(-1, *img_shape)


def saliency(model: keras.Model, images, targets) -> np.ndarray:
    """The absolute gradient of the target logit: how much each pixel's smallest
    change would move it."""
    return _as_maps(np.abs(target_logits_and_gradients(model, images, targets)[1]))


def gradient_input(model: keras.Model, images, targets) -> np.ndarray:
    """Gradient times pixel value (signed): zero wherever there is no ink."""
    images, targets = _check_batch(images, targets)
    return _as_maps(target_logits_and_gradients(model, images, targets)[1] * images)


def smoothgrad(
    model: keras.Model,
    images,
    targets,
    samples: int = SMOOTHGRAD_SAMPLES,
    noise: float = SMOOTHGRAD_NOISE,
    seed: int | None = DEFAULT_SEED,
) -> np.ndarray:
    """The absolute value of the gradient averaged over ``samples`` copies of each
    image with Gaussian noise of standard deviation ``noise`` added (not clipped,
    as in Smilkov et al.)."""
    images, targets = _check_batch(images, targets)
    samples = check_positive_int("samples", samples)
    noise = check_positive_float("noise", noise)
    rng = np.random.default_rng(check_seed(seed))
    total = np.zeros_like(images)
    for _ in range(samples):
        noisy = images + rng.normal(0.0, noise, images.shape).astype(np.float32)
        total += _unchecked_gradients(model, noisy, targets)
    return _as_maps(np.abs(total / samples))


def _unchecked_gradients(
    model: keras.Model, images: np.ndarray, targets: np.ndarray, batch_size: int = BATCH_SIZE
) -> np.ndarray:
    """Gradients for inputs that may leave [0, 1] (noisy copies)."""
    return _in_batches(_gradient_function(model), (images, targets), batch_size)[1]


def integrated_gradients(
    model: keras.Model, images, targets, baseline=None, steps: int = IG_STEPS
) -> np.ndarray:
    """(image - baseline) times the mean gradient along the straight path from
    ``baseline`` (default: blank, no ink) to the image, taken at the midpoints of
    ``steps`` equal intervals. The maps add up to logit(image) - logit(baseline),
    up to the midpoint rule's error (completeness)."""
    images, targets = _check_batch(images, targets)
    steps = check_positive_int("steps", steps)
    if baseline is None:
        baseline = np.zeros_like(images)
    else:
        baseline = check_images("baseline", np.reshape(baseline, (-1, img_size_flat)))
        if len(baseline) not in (1, len(images)):
            raise ValueError(
                f"baseline must be one image or one per image ({len(images)}), got {len(baseline)}."
            )
        baseline = np.broadcast_to(baseline.reshape(-1, img_size_flat), images.shape)
    total = np.zeros_like(images)
    for alpha in (np.arange(steps, dtype=np.float32) + 0.5) / steps:
        total += _unchecked_gradients(model, baseline + alpha * (images - baseline), targets)
    return _as_maps(total / steps * (images - baseline))


_gradcam_functions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_forward_functions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def gradcam_layer(model: keras.Model, layer: int | str | None = None) -> str:
    """The conv layer meant by ``layer`` (an index into the conv layers, or a
    name; default: the last conv layer). A dense layer is an error: Grad-CAM
    needs feature maps with positions."""
    convs = conv_layer_names(model)
    if not convs:
        raise ValueError("Grad-CAM needs a model with a conv layer; this one has none.")
    if layer is None:
        return convs[-1]
    name = resolve_layer(model, layer)  # an unknown name or index is an error there
    if name not in convs:
        raise ValueError(
            f"Grad-CAM needs a conv layer; {name!r} is a dense layer, without "
            f"positions. Valid: {convs}."
        )
    return name


def _gradcam_function(model: keras.Model, layer_name: str):
    per_model = _gradcam_functions.setdefault(model, {})
    if layer_name not in per_model:
        probe = keras.Model(
            model.inputs[0],
            [
                model.get_layer(relu_layer_name(layer_name)).output,
                model.get_layer(output_layer_name(model)).output,
            ],
        )

        @tf.function(reduce_retracing=True, autograph=False)
        def cam(images, targets):
            with tf.GradientTape() as tape:
                feature_maps, logits = probe(images, training=False)
                chosen = tf.gather(logits, targets, batch_dims=1)
            grads = tape.gradient(chosen, feature_maps)
            weights = tf.reduce_mean(grads, axis=[1, 2], keepdims=True)  # one per feature
            heat = tf.nn.relu(tf.reduce_sum(weights * feature_maps, axis=-1, keepdims=True))
            return tf.image.resize(heat, img_shape, method="bilinear")[..., 0]

        per_model[layer_name] = cam
    return per_model[layer_name]


def gradcam(
    model: keras.Model,
    images,
    targets,
    layer: int | str | None = None,
    batch_size: int = BATCH_SIZE,
) -> np.ndarray:
    """Grad-CAM: the conv layer's feature maps (after their ReLU), each weighted
    by the mean gradient of the target logit over its positions, summed, kept
    where positive and resized (bilinear) to 28 x 28."""
    images, targets = _check_batch(images, targets)
    cam = _gradcam_function(model, gradcam_layer(model, layer))
    batch_size = check_positive_int("batch_size", batch_size)
    return _in_batches(cam, (images, targets), batch_size)


def _forward_function(model: keras.Model):
    """The compiled forward pass of ``model`` (logits), built once per model."""
    if model not in _forward_functions:
        model_ref = weakref.ref(model)
        _forward_functions[model] = tf.function(
            lambda images: model_ref()(images, training=False),
            reduce_retracing=True,
            autograph=False,
        )
    return _forward_functions[model]


def _logits(model: keras.Model, images: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    return _in_batches(_forward_function(model), (images,), batch_size)


def target_logits(model: keras.Model, images, targets) -> np.ndarray:
    """Each image's logit for its target class."""
    images, targets = _check_batch(images, targets)
    return _logits(model, images)[np.arange(len(targets)), targets]


def occlusion(
    model: keras.Model, images, targets, patch: int = OCCLUSION_PATCH, batch_size: int = 4096
) -> np.ndarray:
    """How much the target logit drops when a ``patch`` x ``patch`` square is set
    to 0 (no ink), at every position (stride 1); each pixel gets the mean drop
    over the squares that cover it. A square with no ink changes nothing, so
    only squares with ink are evaluated."""
    images, targets = _check_batch(images, targets)
    patch = check_positive_int("patch", patch, maximum=img_shape[0])
    side = img_shape[0] - patch + 1
    squares = images.reshape(-1, *img_shape)
    ink = np.lib.stride_tricks.sliding_window_view(squares, (patch, patch), axis=(1, 2))
    has_ink = ink.max(axis=(-1, -2)).reshape(len(images), -1) > 0
    image_index, position = np.nonzero(has_ink)
    keep = np.ones((side * side, *img_shape), np.float32)  # 0 inside each square
    for y in range(side):
        for x in range(side):
            keep[y * side + x, y : y + patch, x : x + patch] = 0.0
    keep = keep.reshape(side * side, img_size_flat)
    drops = np.zeros((len(images), side * side), np.float32)
    base = target_logits(model, images, targets)
    for start in range(0, len(image_index), batch_size):
        rows, where = image_index[start : start + batch_size], position[start : start + batch_size]
        occluded = images[rows] * keep[where]
        drops[rows, where] = (
            base[rows] - _logits(model, occluded)[np.arange(len(rows)), targets[rows]]
        )
    drops = drops.reshape(len(images), side, side)
    total = np.zeros((len(images), *img_shape), np.float32)
    covered = np.zeros(img_shape, np.float32)
    for dy in range(patch):
        for dx in range(patch):
            total[:, dy : dy + side, dx : dx + side] += drops
            covered[dy : dy + side, dx : dx + side] += 1
    return total / covered


# Each method by its name (the names the command line and the notebooks use).
_METHODS = {
    "saliency": saliency,
    "gradient_input": gradient_input,
    "smoothgrad": smoothgrad,
    "integrated_gradients": integrated_gradients,
    "gradcam": gradcam,
    "occlusion": occlusion,
}
METHODS = tuple(_METHODS)


def attribute(
    model: keras.Model, images, targets, method: str = "saliency", **options
) -> np.ndarray:
    """Maps (n, 28, 28) by the method named ``method`` (one of :data:`METHODS`);
    ``options`` go to that method (e.g. ``samples`` for SmoothGrad, ``layer``
    for Grad-CAM)."""
    if method not in METHODS:
        raise ValueError(f"unknown attribution method {method!r}; valid: {list(METHODS)}.")
    return _METHODS[method](model, images, targets, **options)


def normalize_maps(maps) -> np.ndarray:
    """Absolute maps scaled to [0, 1], each by its own largest value; an all-zero
    map stays all zero (no division by zero, no NaN)."""
    maps = np.abs(np.asarray(maps, dtype=np.float32))
    peak = maps.reshape(len(maps), -1).max(axis=1)
    return maps / np.where(peak > 0, peak, 1.0).reshape(-1, *[1] * (maps.ndim - 1))


# ---------------------------------------------------------------------------
# Sanity checks
# ---------------------------------------------------------------------------


def top_down_layers(model: keras.Model) -> list[str]:
    """The layers with weights from the output down to the first conv layer: the
    order in which a cascading randomisation re-initialises them."""
    return list(reversed(conv_layer_names(model) + dense_layer_names(model)))


def randomized_copy(model: keras.Model, layers: Sequence[str], seed: int = 0) -> keras.Model:
    """A copy of ``model`` whose named layers get fresh random weights (Glorot
    uniform kernels, zero biases), the others keeping the trained ones. Each
    ``seed`` gives its own draw for every layer (no two seeds share one)."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    layer_seeds = np.random.default_rng(check_seed(seed)).integers(0, 2**31 - 1, len(layers))
    for name, layer_seed in zip(layers, layer_seeds):
        layer = copy.get_layer(name)
        init = keras.initializers.GlorotUniform(seed=int(layer_seed))
        layer.kernel.assign(init(layer.kernel.shape))
        layer.bias.assign(np.zeros(layer.bias.shape, np.float32))
    return copy


def rank_correlation(maps_a, maps_b, mask=None) -> np.ndarray:
    """Per pair of maps, the Spearman rank correlation of their absolute values
    (ties share a rank); 0 where either map is constant. With ``mask`` (one
    boolean map per pair, e.g. the digit's ink), only the pixels it marks count."""
    a = np.abs(np.asarray(maps_a, dtype=np.float64)).reshape(len(maps_a), -1)
    b = np.abs(np.asarray(maps_b, dtype=np.float64)).reshape(len(maps_b), -1)
    if mask is None:
        return _correlation_of_ranks(rankdata(a, axis=1), rankdata(b, axis=1))
    mask = np.asarray(mask, dtype=bool).reshape(a.shape)
    return np.array(
        [
            _correlation_of_ranks(rankdata(a[i, m])[None], rankdata(b[i, m])[None])[0]
            for i, m in enumerate(mask)
        ]
    )


def _correlation_of_ranks(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.where(norms > 0, (a * b).sum(axis=1) / np.where(norms > 0, norms, 1.0), 0.0)


def share_near_ink(maps, images, reach: int = 1) -> np.ndarray:
    """Per map, the share of its absolute total that lies on the image's ink
    (pixels above 0) or within ``reach`` pixels of it (a square neighbourhood);
    0 for an all-zero map."""
    images = check_images("images", images).reshape(-1, *img_shape)
    maps = np.abs(np.asarray(maps, dtype=np.float64)).reshape(images.shape)
    reach = check_non_negative_int("reach", reach)
    window = 2 * reach + 1
    near = maximum_filter(images > 0, size=(1, window, window), mode="constant", cval=False)
    total = maps.reshape(len(maps), -1).sum(axis=1)
    inside = (maps * near).reshape(len(maps), -1).sum(axis=1)
    return np.where(total > 0, inside / np.where(total > 0, total, 1.0), 0.0)


def random_maps(count: int, seed: int | None = DEFAULT_SEED) -> np.ndarray:
    """Maps of uniform noise: a random pixel order, the baseline for
    :func:`deletion_insertion`."""
    return np.random.default_rng(check_seed(seed)).random((count, *img_shape), np.float32)


def deletion_insertion(
    model: keras.Model, images, targets, maps, points: int = 29
) -> tuple[np.ndarray, np.ndarray]:
    """Per image, the area under the target class's softmax probability as the
    pixels are *deleted* (set to 0) from the highest-ranked by |map| down, and as
    they are *inserted* into a blank image in the same order. ``points`` evenly
    spaced pixel counts from 0 to 784 make each curve; the area is their mean
    (trapezoidal), between 0 and 1. A faithful map gives a small deletion area
    and a large insertion area."""
    images, targets = _check_batch(images, targets)
    maps = np.abs(np.asarray(maps, dtype=np.float32))
    if maps.size != images.size or len(maps) != len(images):
        raise ValueError(
            f"maps must match the images, shape ({len(images)}, 28, 28); got {maps.shape}."
        )
    maps = maps.reshape(images.shape)
    points = check_positive_int("points", points)
    rank = np.argsort(np.argsort(-maps, axis=1, kind="stable"), axis=1)  # 0 = most important
    counts = np.linspace(0, img_size_flat, max(points, 2)).round().astype(int)
    curves = {"deletion": [], "insertion": []}
    for count in counts:
        top = rank < count
        curves["deletion"].append(_probabilities(model, np.where(top, 0.0, images), targets))
        curves["insertion"].append(_probabilities(model, np.where(top, images, 0.0), targets))
    return tuple(_area(np.stack(curves[kind], axis=1)) for kind in ("deletion", "insertion"))


def _area(curves: np.ndarray) -> np.ndarray:
    """Area under evenly spaced curves (one per row) over [0, 1], trapezoidal."""
    return (curves.sum(axis=1) - (curves[:, 0] + curves[:, -1]) / 2) / (curves.shape[1] - 1)


def _probabilities(model: keras.Model, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
    probabilities = softmax(_logits(model, images.astype(np.float32)), axis=1)
    return probabilities[np.arange(len(targets)), targets]


# ---------------------------------------------------------------------------
# Dataset examples: what a feature responds to in real digits
# ---------------------------------------------------------------------------

# For a feature at output position (row, col) of a layer, the input pixels it
# sees: conv1 (5x5, same padding) sees rows row-2..row+2; conv2 sits behind a
# 2x2 pooling, so position (i, j) of its 14x14 grid sees rows 2i-6..2i+7.
RECEPTIVE_FIELDS = {"layer_conv1": (1, 2, 5), "layer_conv2": (2, 6, 14)}  # stride, offset, size


def feature_responses(model: keras.Model, layer: str, images, batch_size: int = 1000) -> np.ndarray:
    """The layer's output before its ReLU for each image: (n, rows, cols, features)
    for a conv layer, (n, features) for a dense one."""
    images = check_images("images", images).reshape(-1, img_size_flat)
    probe = layer_model(model, [layer])
    return _in_batches(lambda batch: probe(batch, training=False), (images,), batch_size)


def top_examples(
    model: keras.Model, layer: str, images, feature: int, count: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """The ``count`` examples that excite one feature most, strongest first, and
    their responses. For a dense layer an example is a whole digit (28 x 28); for
    a conv layer it is the patch of its receptive field around the position of
    the feature's strongest response in a digit (5 x 5 for layer_conv1, 14 x 14 for
    layer_conv2), at most one patch per digit, zero-padded at the border."""
    images = check_images("images", images)
    count = check_positive_int("count", count, maximum=len(images))
    responses = feature_responses(model, layer, images)[..., feature]
    if responses.ndim == 1:
        order = np.argsort(-responses, kind="stable")[:count]
        return images[order], responses[order]
    if layer not in RECEPTIVE_FIELDS:
        raise ValueError(f"receptive fields are known for {list(RECEPTIVE_FIELDS)}, not {layer!r}.")
    stride, offset, size = RECEPTIVE_FIELDS[layer]
    flat = responses.reshape(len(images), -1)
    best_position = flat.argmax(axis=1)
    best = flat[np.arange(len(images)), best_position]
    order = np.argsort(-best, kind="stable")[:count]
    padded = np.pad(images, ((0, 0), (size, size), (size, size)))
    patches = []
    for index in order:
        row, col = np.unravel_index(best_position[index], responses.shape[1:])
        top, left = stride * row - offset + size, stride * col - offset + size
        patches.append(padded[index, top : top + size, left : left + size])
    return np.stack(patches), best[order]
