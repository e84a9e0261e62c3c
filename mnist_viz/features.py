"""The tutorial's names for gradient ascent on the input, as thin wrappers over the
one engine (:mod:`mnist_viz.ascent`) with the reference settings.

The network's weights stay fixed; the pixels of an input image are changed step
by step to make one feature (a conv channel's mean, a dense unit, or a logit)
as large as possible: 30 steps of the gradient divided by its standard
deviation, from grey noise, pixels clipped to [0, 1].

``layer`` and ``steps`` are the package's names; the reference tutorial's
``conv_id`` and ``num_iterations`` are accepted as aliases by
:func:`optimize_image` and :func:`optimize_images`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mnist_viz._checks import check_positive_int
from mnist_viz._tf import keras
from mnist_viz.ascent import REFERENCE, AscentHistory, PrintSteps, visualize
from mnist_viz.data import check_images
from mnist_viz.objectives import evaluate, feature, layer_objectives
from mnist_viz.starts import DEFAULT_SEED, noise_images

_UNSET = object()


def _alias(value, alias, name: str, alias_name: str, default):
    """The value of a parameter that the reference spelled ``alias_name``."""
    if alias is _UNSET:
        return default if value is _UNSET else value
    if value is not _UNSET:
        raise TypeError(f"give {name} or its alias {alias_name}, not both.")
    return alias


def ascend(
    model: keras.Model,
    layer: int | str | None,
    features: Sequence[int],
    start: np.ndarray,
    steps: int = 30,
    record: bool = True,
) -> tuple[np.ndarray, AscentHistory | None]:
    """The reference ascent for several features at once, one start image each.

    Image ``i`` is optimised for ``features[i]``; all images share one gradient
    call per step. Returns the optimised images, shape (n, 28, 28), and the
    per-step history (None with ``record=False``, which is faster).
    """
    steps = check_positive_int("steps", steps)
    objectives = layer_objectives(model, layer, features)
    start = check_images("start", start, count=len(objectives))
    return _reference_ascent(model, objectives, start, steps, record)


def _reference_ascent(
    model: keras.Model, objectives: list, start: np.ndarray, steps: int, record: bool
) -> tuple[np.ndarray, AscentHistory | None]:
    """:func:`ascend` of checked arguments: objectives, start images (n, 28, 28), steps."""
    result = visualize(
        model, objectives, REFERENCE.replace(steps=steps), start=start, record=record
    )
    return result.images, result.history


def optimize_images(
    model: keras.Model,
    layer: int | str | None = _UNSET,
    features: Sequence[int] = range(10),
    steps: int = _UNSET,
    seed: int | None = DEFAULT_SEED,
    start: np.ndarray | None = None,
    *,
    conv_id=_UNSET,
    num_iterations=_UNSET,
) -> np.ndarray:
    """Images that maximise each of ``features`` (default: the first 10) of a layer,
    all optimised together in one batch. Returns an array (n, 28, 28) in [0, 1].

    ``layer`` is an index into the conv layers, the name of a conv or dense layer,
    or None / ``"logits"`` for the output layer, whose features are the digits.
    """
    layer = _alias(layer, conv_id, "layer", "conv_id", None)
    steps = _alias(steps, num_iterations, "steps", "num_iterations", REFERENCE.steps)
    objectives = layer_objectives(model, layer, features)
    start = (
        noise_images(len(objectives), seed)
        if start is None
        else check_images("start", start, count=len(objectives))
    )
    steps = check_positive_int("steps", steps)
    return _reference_ascent(model, objectives, start, steps, record=False)[0]


def optimize_image(
    model: keras.Model,
    layer: int | str | None = _UNSET,
    feature: int = 0,
    steps: int = _UNSET,
    show_progress: bool = True,
    seed: int | None = DEFAULT_SEED,
    start: np.ndarray | None = None,
    *,
    conv_id=_UNSET,
    num_iterations=_UNSET,
) -> np.ndarray:
    """The image that maximises one feature, shape (28, 28), values in [0, 1].

    With ``show_progress`` it prints, per step, the predicted class and its
    score, the gradient's min and max, the step size and the objective.
    """
    layer = _alias(layer, conv_id, "layer", "conv_id", None)
    steps = check_positive_int(
        "steps", _alias(steps, num_iterations, "steps", "num_iterations", REFERENCE.steps)
    )
    objectives = layer_objectives(model, layer, [feature])
    start = (
        noise_images(1, seed)
        if start is None
        else check_images("start", np.reshape(start, (1, -1)), count=1)
    )
    result = visualize(
        model,
        objectives,
        REFERENCE.replace(steps=steps),
        start=start,
        callbacks=[PrintSteps()] if show_progress else (),
    )
    return result.images[0]


def feature_objective(
    model: keras.Model, layer: int | str | None, index: int, images
) -> np.ndarray:
    """The objective that the ascent maximises for one feature, on each of ``images``."""
    images = check_images("images", images)
    return evaluate(model, [feature(model, layer, index)] * len(images), images)
