"""The one gradient-ascent engine: settings, presets, callbacks and the compiled loop.

Every way of finding an image a network likes runs here. A run glues the pieces
of the other modules together, one step after another:

    params      -> images      (:mod:`mnist_viz.params`: pixels or Fourier)
    transforms  -> what the network sees (:mod:`mnist_viz.transforms`)
    network     -> layer outputs, cut at the layers the objective reads
    objective   -> one value per image (:mod:`mnist_viz.objectives`), minus penalties
    update      -> Adam, or the reference's gradient / its standard deviation

A step is compiled once per model, objective structure, settings structure, batch
size and whether the full history is recorded; numbers (step size, penalty
weights, jitter, objective weights, the seed) are inputs, so changing them never
recompiles. (:mod:`mnist_viz._fast` runs many steps per compiled call.)
:data:`REFERENCE` is the tutorial's method as a preset;
:data:`REGULARIZED` adds priors that make digits readable; :data:`PLAIN_SHIFT_L1`
draws handwriting on a robust network.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Sequence

import numpy as np

from mnist_viz import _fast
from mnist_viz._checks import (
    MAX_SEED,
    check_int,
    check_non_negative_float,
    check_positive_int,
    check_seed,
)
from mnist_viz._tf import keras, tf
from mnist_viz.data import check_images, img_shape, img_size_flat, num_classes
from mnist_viz.layers import check_linear_layers, conv_layer_names, output_layer_name, resolve_layer
from mnist_viz.objectives import LayerOutputs, Objective, layer_objectives, per_image
from mnist_viz.params import PARAMETERIZATIONS, parameterization
from mnist_viz.starts import DEFAULT_SEED, check_start, start_images
from mnist_viz.transforms import PENALTIES, blur, random_affine

UPDATE_RULES = ("adam", "std", "l2")


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything that shapes an ascent. The defaults are tuned for 28x28
    one-channel MNIST and measured in ``03_recognizable_digits.ipynb``:

    - ``steps=200`` Adam steps of ``learning_rate=0.05``: pixels live in [0, 1],
      so a step of 5% of the range moves fast yet stays stable. (``update="std"``
      is the reference's gradient / its standard deviation; ``update="l2"`` a
      gradient scaled to an L2 length of ``learning_rate``.)
    - ``jitter=2`` pixels, ``scale=0.1``, ``rotation=10`` degrees: a digit drawn
      by hand varies about this much; larger moves erase strokes.
    - ``tv=0.05``: smooth strokes instead of pixel noise. ``l1=0.1``: an empty
      (white) background with little ink, as in every MNIST image. ``l2=0``: L1 already
      keeps ink scarce, and L2 on top makes strokes faint.
    - ``blur_every=10``, ``blur_sigma=1.0``: an occasional blur thickens strokes
      to the 2 to 3 pixels of a pen; blurring every step washes the image out.
    - ``contrast=3.0`` (logits only): the digit's logit minus three times the mean
      of the others, so the image must look like *this* digit rather than any digit.
    - ``start="blank"``: an image with no ink (all 0, drawn white), MNIST's background.
    - ``param="pixels"``: optimise the pixels; ``"fourier"`` optimises a
      decorrelated spectrum instead (see :mod:`mnist_viz.params`).
    - ``transforms=()``: extra ``(images, seed) -> images`` functions applied
      after the random shift, scale and rotation.
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
    param: str = "pixels"
    transforms: tuple = ()

    def __post_init__(self):
        check_positive_int("steps", self.steps)
        if self.update not in UPDATE_RULES:
            raise ValueError(f"update must be one of {UPDATE_RULES}, got {self.update!r}.")
        check_start(self.start)
        if self.param not in PARAMETERIZATIONS:
            raise ValueError(
                f"param must be one of {sorted(PARAMETERIZATIONS)}, got {self.param!r}."
            )
        for name in (
            "learning_rate",
            "jitter",
            "scale",
            "rotation",
            "tv",
            "l2",
            "l1",
            "blur_sigma",
            "contrast",
        ):
            check_non_negative_float(name, getattr(self, name))
        if self.learning_rate == 0:
            raise ValueError("learning_rate must be > 0, got 0.")
        if self.scale >= 1:
            raise ValueError(f"scale must be below 1 (a zoom of 1 +/- scale), got {self.scale}.")
        check_int("blur_every", self.blur_every, 0)
        if self.blur_every and self.blur_sigma == 0:
            raise ValueError(
                "blur_sigma must be > 0 when blur_every is set; use "
                "blur_every=0 to switch blurring off."
            )
        if not isinstance(self.transforms, tuple) or not all(map(callable, self.transforms)):
            raise TypeError(
                "transforms must be a tuple of functions (images, seed) -> images, "
                f"got {self.transforms!r}."
            )

    def replace(self, **changes) -> Settings:
        """A copy with some settings changed (checked like the originals)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise TypeError(
                f"unknown settings {sorted(unknown)}; valid: "
                f"{[f.name for f in dataclasses.fields(self)]}."
            )
        return dataclasses.replace(self, **changes)

    @property
    def moves_images(self) -> bool:
        """Whether the random shift, scale and rotation are on."""
        return bool(self.jitter or self.scale or self.rotation)

    @property
    def has_priors(self) -> bool:
        """Whether any penalty or the blur is on (the reference has none)."""
        return bool(self.tv or self.l2 or self.l1 or self.blur_every)

    def structure(self) -> tuple:
        """What decides the compiled loop's graph; every other setting is a number
        fed to it. With priors on, a penalty or the blur at 0 is switched off by
        its number, so moving one slider to 0 does not recompile; switching all
        priors, or the random moves, on or off does."""
        return self.update, self.param, self.moves_images, self.transforms, self.has_priors

    def numbers(self) -> dict:
        """The numeric settings, fed to the compiled loop as tensors."""
        numbers = {
            name: tf.constant(getattr(self, name), tf.float32)
            for name in (
                "learning_rate",
                "jitter",
                "scale",
                "rotation",
                "tv",
                "l2",
                "l1",
                "blur_sigma",
            )
        }
        numbers["blur_every"] = tf.constant(self.blur_every, tf.int32)
        return numbers

    def describe(self) -> dict:
        """The settings as plain values (e.g. for JSON); transforms by name."""
        plain = dataclasses.asdict(self)
        plain["transforms"] = [getattr(t, "__name__", repr(t)) for t in self.transforms]
        return plain


REGULARIZED = Settings()
# A conv channel's mean is about a hundred times smaller than a logit, and a dense
# unit about five times smaller, so their penalties are scaled down to match:
# with the logits' weights the penalties win and the image stays empty.
REGULARIZED_CONV = Settings(tv=3e-4, l1=3e-4, contrast=0.0)
REGULARIZED_DENSE = Settings(tv=0.01, l1=0.01, contrast=0.0)
# The same priors on a decorrelated Fourier image (see mnist_viz.params); its steps
# are smaller in pixel terms, so the learning rate is doubled.
FOURIER = REGULARIZED.replace(param="fourier", learning_rate=0.1)
# The reference tutorial's method: 30 plain steps of gradient / std from grey
# noise, no transforms, no penalties, no blur.
REFERENCE = Settings(
    steps=30,
    update="std",
    jitter=0.0,
    scale=0.0,
    rotation=0.0,
    tv=0.0,
    l1=0.0,
    blur_every=0,
    contrast=0.0,
    start="noise",
)

# Plain small steps: the gradient scaled to an L2 length of 0.5 (about one pixel's
# full range spread over the image), 100 steps, nothing else. On a robust network
# this alone draws digits (see 04_robust_network.ipynb).
PLAIN = REFERENCE.replace(steps=100, update="l2", learning_rate=0.5, start="blank")

# Plain steps plus two ingredients, from the mean training digit: on a robust
# network it draws handwriting (04_robust_network.ipynb measures each part).
# - jitter=1: the network sees the image shifted by up to one pixel, a new shift
#   every step. Without it the steps draw dotted strokes in a checkerboard (the
#   stride-2 pooling rewards every other pixel); a shifted copy needs the pixels
#   in between too, so the dots fill into solid strokes.
# - l1=0.02: a small charge for every bit of ink. Without it the start's faint grey
#   halo stays wherever the network's gradient is silent; L1 takes it away.
PLAIN_SHIFT_L1 = PLAIN.replace(jitter=1.0, l1=0.02, start="mean digit")
# Feature values are smaller than logits, so their ink charge is too.
PLAIN_SHIFT_L1_CONV = PLAIN_SHIFT_L1.replace(l1=6e-4)
PLAIN_SHIFT_L1_DENSE = PLAIN_SHIFT_L1.replace(l1=2e-3)


def regularized_settings(model: keras.Model, layer: int | str | None) -> Settings:
    """The tuned regularised settings for a layer: conv, dense or output (logits)."""
    return _regularized_for(model, resolve_layer(model, layer))


def plain_shift_l1_settings(model: keras.Model, layer: int | str | None) -> Settings:
    """:data:`PLAIN_SHIFT_L1` with the ink charge scaled to a layer's values."""
    layer_name = resolve_layer(model, layer)
    return _by_kind(model, layer_name, PLAIN_SHIFT_L1, PLAIN_SHIFT_L1_CONV, PLAIN_SHIFT_L1_DENSE)


def _regularized_for(model: keras.Model, layer_name: str) -> Settings:
    return _by_kind(model, layer_name, REGULARIZED, REGULARIZED_CONV, REGULARIZED_DENSE)


def _by_kind(
    model: keras.Model, layer_name: str, logits: Settings, conv: Settings, dense: Settings
) -> Settings:
    """The settings for the named layer's kind: output, conv or dense."""
    if layer_name == output_layer_name(model):
        return logits
    return conv if layer_name in conv_layer_names(model) else dense


# ---------------------------------------------------------------------------
# What a run returns, and the callbacks that watch it
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class AscentHistory:
    """Per-step record of an ascent, each array of shape (steps, n).

    Values describe the image *before* that step: the objective, the predicted
    class and its softmax score, the gradient's extremes, and the step size
    (1 / std of the gradient, or the step length / the gradient's L2 norm for
    ``update="l2"``, 0 where the gradient was all zero; Adam's learning rate for Adam).
    """

    objective: np.ndarray
    predicted: np.ndarray
    score: np.ndarray
    grad_min: np.ndarray
    grad_max: np.ndarray
    step: np.ndarray


@dataclasses.dataclass
class Visualization:
    """What an ascent returns.

    Attributes:
        images: the final images, (n, 28, 28), values in [0, 1].
        objective: (steps, n) each image's objective before each step.
        no_gradient: (steps, n) True where the objective's gradient was all zero.
        history: the full per-step record, with ``record=True``; else None.
    """

    images: np.ndarray
    objective: np.ndarray
    no_gradient: np.ndarray
    history: AscentHistory | None = None


@dataclasses.dataclass
class AscentState:
    """What a callback sees: ``done`` of ``steps`` steps, the images now, and the
    record so far (``objective`` and ``no_gradient`` of shape (done, n))."""

    done: int
    steps: int
    images: np.ndarray
    objective: np.ndarray
    no_gradient: np.ndarray


class Callback:
    """Called with an :class:`AscentState` every ``every`` steps and after the last
    step (only after the last with ``every=None``). ``needs_history`` asks the
    engine for the full per-step record (predicted class, score, gradient).
    :meth:`begin` sees the start images before the first step."""

    every: int | None = None
    needs_history: bool = False

    def begin(self, images: np.ndarray) -> None:
        """Called once with the start images (n, 28, 28)."""

    def __call__(self, state: AscentState, history: AscentHistory | None) -> None:
        raise NotImplementedError


class PrintProgress(Callback):
    """Print the objective's mean, min and max every ``every`` steps."""

    def __init__(self, every: int = 50):
        self.every = check_positive_int("every", every)

    def __call__(self, state, history):
        latest, flat = state.objective[-1], int(state.no_gradient[-1].sum())
        gradient = f", no gradient for {flat} of {len(latest)} images" if flat else ""
        print(
            f"Step {state.done:>4}/{state.steps}: objective mean {latest.mean():.3f}, "
            f"min {latest.min():.3f}, max {latest.max():.3f}{gradient}"
        )


class PrintSteps(Callback):
    """After the run, print one image's ascent, one line per step (the tutorial's
    progress report)."""

    needs_history = True

    def __init__(self, index: int = 0):
        self.index = check_int("index", index, 0)

    def __call__(self, state, history):
        if state.done == state.steps:
            print_progress(history, self.index)


class RecordFrames(Callback):
    """Keep a snapshot of the images every ``every`` steps, for an animation.

    ``frames`` (len(frame_steps), n, 28, 28) starts with the start images;
    ``frame_steps`` holds the step after which each frame was taken (0 = start).
    """

    def __init__(self, every: int = 10):
        self.every = check_positive_int("every", every)
        self.frames, self.frame_steps = [], []

    def begin(self, images):
        self.frames, self.frame_steps = [images.copy()], [0]

    def __call__(self, state, history):
        self.frames.append(state.images)
        self.frame_steps.append(state.done)


def print_progress(history: AscentHistory, index: int = 0) -> None:
    """Print one image's ascent, one line per step."""
    for i in range(len(history.objective)):
        if history.step[i, index] == 0:
            gradient = "no gradient (the feature does not respond to the image)"
        else:
            gradient = (
                f"gradient min {history.grad_min[i, index]:+.6f}, "
                f"max {history.grad_max[i, index]:+.6f}, "
                f"step size {history.step[i, index]:.2f}"
            )
        print(
            f"Iteration {i:>3}: predicted {history.predicted[i, index]} "
            f"({history.score[i, index]:7.2%}), {gradient}, "
            f"objective {history.objective[i, index]:.4f}"
        )


# ---------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------

_RECORDS = ("objective", "no_gradient", "predicted", "score", "grad_min", "grad_max", "step")
_engines: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _Engine:
    """The compiled steps for one model, objective structure, settings structure,
    batch size and record flag. Its variables (the parameters and Adam's moments)
    are reset at the start of every run. Compiled without AutoGraph, which would
    convert every objective and transform a step calls and triple the first
    call's time."""

    def __init__(self, model, objective: Objective, settings: Settings, n: int, record: bool):
        # A weak reference: the engines live in a WeakKeyDictionary keyed by the model.
        self.model = weakref.ref(model)
        self.objective, self.n, self.record = objective, n, record
        self.settings = settings  # only its structure is read inside the graph
        self.param = parameterization(settings.param)
        self.params = tf.Variable(self.param.encode(np.zeros((n, *img_shape), np.float32)))
        self.optimizer = None
        if settings.update == "adam":
            self.optimizer = keras.optimizers.Adam(settings.learning_rate)
            self.optimizer.build([self.params])
        self.logits_name = output_layer_name(model)
        self.fields = _RECORDS if record else _RECORDS[:2]
        self.fast = _fast.enabled()
        self.one_step = tf.function(self._one_step, autograph=False)
        self.many_steps = tf.function(self._many_steps, autograph=False)
        self.traces = 0

    def reset(self, start: np.ndarray, settings: Settings) -> None:
        self.params.assign(self.param.encode(start))
        if self.optimizer is not None:
            rate = self.optimizer.learning_rate
            for variable in self.optimizer.variables:
                if variable is not rate:
                    variable.assign(tf.zeros_like(variable))
            rate.assign(settings.learning_rate)

    def images(self) -> np.ndarray:
        return self.param.decode(self.params).numpy()[..., 0]

    def run(self, first: int, end: int, seed, numbers, arrays) -> list[np.ndarray]:
        """Steps ``first`` .. ``end - 1``; each record stacked, shape (end - first, n)."""
        if self.fast:
            count = tf.constant(end - first, tf.int32)
            records = self.many_steps(tf.constant(first, tf.int32), count, seed, numbers, arrays)
            return [r.numpy() for r in records]
        arrays = self.objective.prepare(self.model(), arrays)
        steps = [
            self.one_step(tf.constant(i, tf.int32), seed, numbers, arrays)
            for i in range(first, end)
        ]
        return [np.stack([r.numpy() for r in column]) for column in zip(*steps)]

    def _one_step(self, i, seed, numbers, arrays) -> list:
        self.traces += 1
        return self._step(i, seed, numbers, arrays)

    def _many_steps(self, first, count, seed, numbers, arrays) -> list:
        self.traces += 1
        arrays = self.objective.prepare(self.model(), arrays)  # once, before the steps
        return _fast.compiled_loop(
            lambda i: self._step(i, seed, numbers, arrays), first, count, len(self.fields)
        )

    def _transforms(self, numbers) -> list:
        """The random moves (when on), then the settings' own transforms."""
        transforms = list(self.settings.transforms)
        if self.settings.moves_images:
            transforms.insert(
                0, random_affine(numbers["jitter"], numbers["scale"], numbers["rotation"])
            )
        return transforms

    def _blur_if_due(self, i, numbers):
        every = numbers["blur_every"]
        due = tf.logical_and(tf.logical_and(every > 0, i > 0), i % tf.maximum(every, 1) == 0)

        def blurred():
            images = self.param.decode(self.params)
            self.params.assign(self.param.encode(blur(images, numbers["blur_sigma"])[..., 0]))
            return tf.constant(True)

        tf.cond(due, blurred, lambda: tf.constant(False))

    def _step(self, i, seed, numbers, arrays) -> list:
        """Step ``i`` (after the blur, when due); returns its records (before the step)."""
        param, n = self.param, self.n
        if self.settings.has_priors:
            self._blur_if_due(i, numbers)
        with tf.GradientTape() as tape:
            images = param.decode(self.params)
            seen = images
            for j, transform in enumerate(self._transforms(numbers)):  # each its own randoms
                step_seed = tf.stack([seed, i])
                if j:
                    step_seed = tf.random.experimental.stateless_fold_in(step_seed, j)
                seen = transform(seen, step_seed)
            outputs = LayerOutputs(self.model(), tf.reshape(seen, (n, img_size_flat)))
            reads = self.objective.reads(self.model())
            outputs.prefetch([*reads, *([self.logits_name] if self.record else [])])
            objective = _checked_values(self.objective, outputs, arrays, n)
            total = objective
            if self.settings.has_priors:
                for name, penalise in PENALTIES.items():  # a weight of 0 switches one off
                    total = total - numbers[name] * penalise(images)
            total_sum = tf.reduce_sum(total)  # images are independent: one gradient each
        grad = tape.gradient(total_sum, self.params)
        axes = list(range(1, len(self.params.shape)))
        if self.optimizer is not None:
            self.optimizer.apply_gradients([(-grad, self.params)])
            step = tf.fill((n,), numbers["learning_rate"])
            self.params.assign(param.project(self.params))
        else:  # a step along the gradient, sized per image
            if self.settings.update == "l2":
                norm = tf.norm(tf.reshape(grad, (n, -1)), axis=1)
                step = tf.where(
                    norm > 0, numbers["learning_rate"] / (norm + 1e-12), tf.zeros_like(norm)
                )
            else:
                std = tf.math.reduce_std(grad, axis=axes)
                step = tf.where(std > 0, 1.0 / (std + 1e-8), tf.zeros_like(std))
            shaped = tf.reshape(step, [n] + [1] * len(axes))
            self.params.assign(param.project(self.params + shaped * grad))
        values = [objective, tf.cast(tf.reduce_all(grad == 0, axis=axes), tf.float32)]
        if self.record:
            probs = tf.nn.softmax(outputs[self.logits_name])
            values += [
                tf.cast(tf.argmax(probs, axis=1), tf.float32),
                tf.reduce_max(probs, axis=1),
                tf.reduce_min(grad, axis=axes),
                tf.reduce_max(grad, axis=axes),
                step,
            ]
        return values


def trace_count(model: keras.Model) -> int:
    """How many times the compiled steps of ``model`` were traced: it grows only
    when a run needs a new structure, never when only numbers change."""
    return sum(engine.traces for engine in _engines.get(model, {}).values())


def _engine(model, objective: Objective, settings: Settings, n: int, record: bool) -> _Engine:
    per_model = _engines.setdefault(model, {})
    key = (objective.key(), settings.structure(), n, record, _fast.enabled())
    if key not in per_model:
        per_model[key] = _Engine(model, objective, settings, n, record)
    return per_model[key]


def _checked_values(objective: Objective, outputs: LayerOutputs, arrays, n: int):
    """The objective's values, shape (n,), or a clear error while the loop is traced."""
    values = tf.cast(tf.convert_to_tensor(objective.values(outputs, arrays)), tf.float32)
    if values.shape.rank is None or not values.shape.is_compatible_with((n,)):
        raise ValueError(
            f"objective {objective.description!r} must give one value per "
            f"image, shape ({n},), got shape {tuple(values.shape)}."
        )
    return tf.ensure_shape(values, (n,))


def _check_callbacks(callbacks) -> list[Callback]:
    if isinstance(callbacks, Callback):
        callbacks = [callbacks]
    callbacks = list(callbacks)
    for i, callback in enumerate(callbacks):
        if not isinstance(callback, Callback):
            raise TypeError(
                f"callbacks[{i}] must be a Callback (PrintProgress, PrintSteps, "
                f"RecordFrames or your own), got {type(callback).__name__}."
            )
        if callback.every is not None:
            check_positive_int(f"callbacks[{i}].every", callback.every)
    return callbacks


def _boundaries(steps: int, callbacks: list[Callback]) -> list[int]:
    """The steps after which the loop pauses to call callbacks (always the last)."""
    ends = {steps}
    for callback in callbacks:
        if callback.every is not None:
            ends.update(range(callback.every, steps, callback.every))
    return sorted(ends)


def visualize(
    model: keras.Model,
    objectives: Objective | Sequence[Objective],
    settings: Settings = REGULARIZED,
    seed: int | None = DEFAULT_SEED,
    start: np.ndarray | None = None,
    callbacks: Sequence[Callback] = (),
    record: bool = False,
) -> Visualization:
    """Optimise a batch of images for an objective.

    Args:
        objectives: a list (image ``i`` maximises ``objectives[i]``) or one batch
            :class:`~mnist_viz.objectives.Objective`, e.g. a list's
            :func:`~mnist_viz.objectives.per_image` plus a diversity term.
        settings: see :class:`Settings`; :data:`REGULARIZED` or :data:`REFERENCE`.
        seed: fixes the random transforms and, with ``start="noise"``, the start
            (None: a fresh random seed).
        start: starting images (n, 28, 28) in [0, 1], instead of ``settings.start``.
        callbacks: called during the run (:class:`PrintProgress`,
            :class:`RecordFrames`, :class:`PrintSteps`); an exception in one
            stops the run and propagates.
        record: keep the full per-step :class:`AscentHistory`.
    """
    check_linear_layers(model)
    settings = _check_settings(settings)
    objective = objectives if isinstance(objectives, Objective) else per_image(objectives)
    seed = check_seed(seed)
    if seed is None:
        seed = int(np.random.default_rng().integers(MAX_SEED))
    callbacks = _check_callbacks(callbacks)
    record = bool(record) or any(c.needs_history for c in callbacks)
    if start is None:
        if objective.batch_size is None:
            raise ValueError(
                f"objective {objective.description!r} does not fix the number "
                "of images; give start images."
            )
        start = start_images(objective.batch_size, settings.start, seed)
    start = check_images("start", start, count=objective.batch_size)
    return _run(model, objective, settings, seed, start, callbacks, record)


def _check_settings(settings) -> Settings:
    if not isinstance(settings, Settings):
        raise TypeError(
            f"settings must be a Settings (e.g. REGULARIZED), got {type(settings).__name__}."
        )
    return settings


def _run(
    model: keras.Model,
    objective: Objective,
    settings: Settings,
    seed: int,
    start: np.ndarray,
    callbacks: list[Callback],
    record: bool,
) -> Visualization:
    """The ascent of checked arguments, paused for the callbacks when they are due."""
    n = len(start)
    engine = _engine(model, objective, settings, n, record)
    arrays = tf.nest.map_structure(tf.convert_to_tensor, objective.arrays())
    engine.reset(start, settings)
    for callback in callbacks:
        callback.begin(start)
    numbers, seed_tensor = settings.numbers(), tf.constant(seed, tf.int32)
    logs, done = [], 0
    for end in _boundaries(settings.steps, callbacks):
        logs.append(engine.run(done, end, seed_tensor, numbers, arrays))
        if not np.all(np.isfinite(logs[-1][0])):
            raise FloatingPointError(
                f"objective {objective.description!r} became NaN or "
                f"infinite between steps {done} and {end}."
            )
        done = end
        called = [
            c
            for c in callbacks
            if done == settings.steps or (c.every is not None and done % c.every == 0)
        ]
        if called:
            objective, no_gradient, history = _records(logs)
            state = AscentState(done, settings.steps, engine.images(), objective, no_gradient)
            for callback in called:
                callback(state, history)
    objective, no_gradient, history = _records(logs)
    return Visualization(engine.images(), objective, no_gradient, history)


def _records(logs) -> tuple[np.ndarray, np.ndarray, AscentHistory | None]:
    """The per-step records of the chunks run so far, joined: the objective, the
    no-gradient flags and, if the run records it, the full history."""
    fields = dict(zip(_RECORDS, (np.concatenate(column) for column in zip(*logs))))
    objective, no_gradient = fields["objective"], fields.pop("no_gradient").astype(bool)
    if "predicted" not in fields:
        return objective, no_gradient, None
    fields["predicted"] = fields["predicted"].astype(np.int64)
    return objective, no_gradient, AscentHistory(**fields)


def visualize_layer(
    model: keras.Model,
    layer: int | str | None,
    features: Sequence[int] | None = None,
    settings: Settings | None = None,
    seed: int | None = DEFAULT_SEED,
    callbacks: Sequence[Callback] = (),
) -> np.ndarray:
    """The images that the features of one layer like (default: all of them),
    shape (n, 28, 28) in [0, 1]. ``settings`` default to
    :func:`regularized_settings` for that layer."""
    layer_name = resolve_layer(model, layer)
    if settings is None:
        settings = _regularized_for(model, layer_name)
    settings = _check_settings(settings)
    objectives = layer_objectives(model, layer_name, features, contrast=settings.contrast)
    return visualize(model, objectives, settings, seed, callbacks=callbacks).images


def visualize_digits(
    model: keras.Model,
    settings: Settings = REGULARIZED,
    seed: int | None = DEFAULT_SEED,
    restarts: int = 1,
    diversity: Objective | None = None,
    callbacks: Sequence[Callback] = (),
) -> np.ndarray:
    """For each restart, one image per digit 0..9, optimised in one batch.

    Returns (restarts, 10, 28, 28): row r holds restart r's digits, index = digit.
    Restarts differ by their random transforms (and start, for noise), and by
    ``diversity`` if given (an objective over all restarts x 10 images).
    """
    restarts = check_positive_int("restarts", restarts)
    settings = _check_settings(settings)
    objective = per_image(
        layer_objectives(
            model, None, list(range(num_classes)) * restarts, contrast=settings.contrast
        )
    )
    if diversity is not None:
        objective = objective + diversity
    images = visualize(model, objective, settings, seed, callbacks=callbacks).images
    return images.reshape(restarts, num_classes, *img_shape)
