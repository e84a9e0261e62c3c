"""Numbers about features: which are dead, blank or redundant, and whether
restarts of the image optimisation agree.

These turn impressions from the pictures ("this feature looks unused") into
counts that a reader can check.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mnist_viz._checks import check_positive_int
from mnist_viz._tf import keras, tf
from mnist_viz.data import check_classes, check_images
from mnist_viz.layers import layer_model, relu_layer_name, resolve_layer


def silent_fraction(model: keras.Model, layer, images, batch_size: int = 1000) -> np.ndarray:
    """Per feature of a layer: the fraction of ``images`` on which its ReLU output
    is zero everywhere (the feature never fires on that image)."""
    layer_name = resolve_layer(model, layer)
    images = check_images("images", images).reshape(len(images), -1)
    batch_size = check_positive_int("batch_size", batch_size)
    probe = layer_model(model, [relu_layer_name(layer_name)])
    silent = 0
    for start in range(0, len(images), batch_size):
        out = probe(images[start : start + batch_size], training=False).numpy()
        peak = out.reshape(len(out), -1, out.shape[-1]).max(axis=1)
        silent = silent + (peak <= 0).sum(axis=0)
    return silent / len(images)


def dead_features(silent: np.ndarray, threshold: float = 0.99) -> list[int]:
    """Features silent on at least ``threshold`` of the images."""
    return [int(i) for i in np.flatnonzero(np.asarray(silent) >= threshold)]


def near_blank_features(optimised, start, tolerance: float = 0.05) -> list[int]:
    """Features whose optimised image differs from its start by less than
    ``tolerance`` per pixel on average: the ascent found nothing to do."""
    change = np.abs(np.asarray(optimised) - np.asarray(start)).mean(axis=(1, 2))
    return [int(i) for i in np.flatnonzero(change < tolerance)]


def correlation_matrix(vectors) -> np.ndarray:
    """Pearson correlation between rows; a constant row correlates 0 with all others."""
    flat = np.asarray(vectors, dtype=np.float64).reshape(len(vectors), -1)
    centred = flat - flat.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    corr = (centred / safe[:, None]) @ (centred / safe[:, None]).T
    corr[norms == 0, :] = 0.0
    corr[:, norms == 0] = 0.0
    np.fill_diagonal(corr, 1.0)
    return corr


def correlated_pairs(vectors, threshold: float = 0.9) -> list[tuple[int, int, float]]:
    """Pairs (i, j, r) with i < j whose rows correlate above ``threshold``."""
    corr = correlation_matrix(vectors)
    i, j = np.triu_indices(len(corr), k=1)
    keep = corr[i, j] > threshold
    return [
        (int(a), int(b), round(float(r), 3)) for a, b, r in zip(i[keep], j[keep], corr[i, j][keep])
    ]


def near_duplicate_pairs(images, tolerance: float = 0.05) -> list[tuple[int, int, float]]:
    """Pairs (i, j, d) with i < j whose images differ by at most ``tolerance`` per
    pixel on average (mean absolute difference ``d``). Unlike a correlation it
    also compares constant images: two all-black images are duplicates."""
    flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    pairs = []
    for i in range(len(flat)):
        differences = np.abs(flat[i + 1 :] - flat[i]).mean(axis=1)
        pairs += [
            (i, i + 1 + int(k), round(float(differences[k]), 4))
            for k in np.flatnonzero(differences <= tolerance)
        ]
    return pairs


def silenced_accuracy_drops(
    model: keras.Model,
    layer,
    images,
    labels,
    groups: Sequence[Sequence[int]],
    batch_size: int = 2000,
) -> np.ndarray:
    """For each group of feature indices, the test accuracy lost when those
    features of ``layer`` are silenced (their output after the ReLU set to 0)
    while the rest of the network runs as trained. The layer is computed once
    per batch; only the layers above it run again for each group. For networks
    made by :func:`~mnist_viz.build_cnn`, whose layers form one chain."""
    layer_name = resolve_layer(model, layer)
    images = check_images("images", images).reshape(len(images), -1)
    labels = check_classes("labels", labels, len(images))
    batch_size = check_positive_int("batch_size", batch_size)
    relu = relu_layer_name(layer_name)
    names = [item.name for item in model.layers]
    above = model.layers[names.index(relu) + 1 :]
    features = model.get_layer(layer_name).kernel.shape[-1]
    masks = np.ones((len(groups), features), np.float32)
    for row, group in enumerate(groups):
        group = [int(f) for f in group]
        if any(not 0 <= f < features for f in group):
            raise ValueError(
                f"feature indices of {layer_name!r} run from 0 to {features - 1}; got {group}."
            )
        masks[row, group] = 0.0

    @tf.function(reduce_retracing=True, autograph=False)
    def predicted(outputs, mask):
        x = outputs * mask
        for item in above:
            x = item(x, training=False)
        return tf.argmax(x, axis=-1, output_type=tf.int32)

    probe = layer_model(model, [relu])
    correct_all = np.zeros(len(groups) + 1)
    for start in range(0, len(images), batch_size):
        outputs = probe(images[start : start + batch_size], training=False)
        truth = labels[start : start + batch_size]
        for row, mask in enumerate([np.ones(features, np.float32), *masks]):
            correct_all[row] += np.sum(predicted(outputs, tf.constant(mask)).numpy() == truth)
    accuracy = correct_all / len(images)
    return accuracy[0] - accuracy[1:]


def filter_vectors(model: keras.Model, layer) -> np.ndarray:
    """A layer's weights as one row per feature (a conv filter or a dense unit)."""
    kernel = model.get_layer(resolve_layer(model, layer)).kernel.numpy()
    return kernel.reshape(-1, kernel.shape[-1]).T


def restart_agreement(images, groups) -> tuple[float, float]:
    """Mean pairwise correlation of images in the same group, and in different groups.

    With ``groups[i]`` the digit that image ``i`` was optimised for, a high
    first number means restarts of one digit land in the same place.
    """
    groups = np.asarray(groups)
    corr = correlation_matrix(images)
    same = groups[:, None] == groups[None, :]
    off_diagonal = ~np.eye(len(groups), dtype=bool)
    return float(corr[same & off_diagonal].mean()), float(corr[~same].mean())


def agreement_across_starts(images, groups, starts) -> tuple[float, float, float]:
    """Mean pairwise correlation of images of the same group from the same kind of
    start, of the same group from different kinds, and of different groups.

    With ``groups[i]`` the digit image ``i`` was optimised for and ``starts[i]``
    the kind of start it came from, a middle number as high as the first means
    the start made no difference to where the restarts of a digit end."""
    groups, starts = np.asarray(groups), np.asarray(starts)
    if groups.shape != (len(images),) or starts.shape != (len(images),):
        raise ValueError(
            f"groups and starts need one entry per image ({len(images)}); got "
            f"shapes {groups.shape} and {starts.shape}."
        )
    corr = correlation_matrix(images)
    same_group = groups[:, None] == groups[None, :]
    same_start = starts[:, None] == starts[None, :]
    off_diagonal = ~np.eye(len(groups), dtype=bool)
    return (
        float(corr[same_group & same_start & off_diagonal].mean()),
        float(corr[same_group & ~same_start].mean()),
        float(corr[~same_group].mean()),
    )


def mean_and_sd(values) -> tuple[float, float]:
    """The mean and (population) standard deviation of repeated measurements,
    e.g. one test accuracy per seed."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or len(values) < 2:
        raise ValueError(
            f"give at least two measurements (one per seed), got shape {values.shape}."
        )
    return float(values.mean()), float(values.std())


def differ_beyond_noise(first, second, factor: float = 2.0) -> bool:
    """Whether two sets of repeated measurements differ by more than ``factor``
    times the larger of their standard deviations: the rule the notebooks use
    before they claim that one network is better than another."""
    (mean_a, sd_a), (mean_b, sd_b) = mean_and_sd(first), mean_and_sd(second)
    return abs(mean_a - mean_b) > factor * max(sd_a, sd_b)


def seed_table(accuracies: dict, baseline, parameters: dict | None = None) -> str:
    """A markdown table of test accuracies over seeds, one row per network:
    mean +/- standard deviation, and whether it differs from the ``baseline``
    row by :func:`differ_beyond_noise` ("yes, higher", "yes, lower" or "no").

    ``accuracies`` maps each network's label to one accuracy per seed;
    ``parameters``, if given, maps the same labels to parameter counts.
    """
    if baseline not in accuracies:
        raise ValueError(
            f"baseline {baseline!r} is not a row of the table; rows: {list(accuracies)}."
        )
    seeds = len(accuracies[baseline])
    header = [
        "network",
        *(["parameters"] if parameters else []),
        f"test accuracy, mean ± sd over {seeds} seeds",
        f"differs from {baseline} beyond noise",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    base_mean = mean_and_sd(accuracies[baseline])[0]
    for label, values in accuracies.items():
        mean, sd = mean_and_sd(values)
        if label == baseline:
            verdict = "(the baseline)"
        elif differ_beyond_noise(values, accuracies[baseline]):
            verdict = "yes, higher" if mean > base_mean else "yes, lower"
        else:
            verdict = "no"
        cells = [
            str(label),
            *([f"{parameters[label]:,}"] if parameters else []),
            f"{mean:.2%} ± {sd:.2%}",
            verdict,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def saturated_share(images) -> float:
    """The fraction of all pixels of ``images`` that sit exactly at 0 or at 1."""
    images = np.asarray(images)
    return float(np.mean((images == 0.0) | (images == 1.0)))


def pinned_share(images, grads) -> float:
    """The fraction of pixels that clipping holds still: at 1 with a positive
    gradient or at 0 with a negative one, so a step up the gradient, clipped
    back to [0, 1], cannot move them."""
    images, grads = np.asarray(images), np.asarray(grads).reshape(np.shape(images))
    return float(np.mean(((images >= 1.0) & (grads > 0)) | ((images <= 0.0) & (grads < 0))))


def levels_off(curve, early: int = 5, late: int = 20, ratio: float = 0.1) -> bool:
    """Whether an objective curve has levelled off: over its last ``late`` steps
    it rises by less than ``ratio`` times its rise over the first ``early``."""
    curve = np.asarray(curve, dtype=float)
    if curve.ndim != 1 or len(curve) < max(early, late) + 1:
        raise ValueError(
            f"the curve needs more than max(early, late) = {max(early, late)} "
            f"steps, got shape {curve.shape}."
        )
    first_rise = curve[early] - curve[0]
    last_rise = curve[-1] - curve[-1 - late]
    return bool(first_rise > 0 and last_rise < ratio * first_rise)


def flat_by_weight_sign(images, weight_sums, border: int = 3) -> bool:
    """Whether each image, away from a ``border`` of pixels, is all black (1)
    where its filter's weights sum to a positive number and all white (0)
    where they sum to a negative one, as a linear objective predicts."""
    images = np.asarray(images)
    interior = images[:, border:-border, border:-border]
    positive = np.asarray(weight_sums)[:, None, None] > 0
    return bool(np.where(positive, interior >= 1.0, interior <= 0.0).all())
