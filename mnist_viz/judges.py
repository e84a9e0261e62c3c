"""Does an image of a "digit" look like that digit? Judges that did not make it.

The network that generated an image is close to 100% sure of almost anything it
generated, noise included, so its confidence proves nothing. Independent
judges decide instead, each one entry of the registry :data:`JUDGES`:

    a CNN judge        another architecture (3x3 kernels, fewer filters) trained
                       from another seed: does a *different* network read it?
    a pixel judge      logistic regression on raw pixels: does the ink sit where
                       people put ink for that digit?
    a robust judge     the CNN judge's architecture, trained adversarially and
                       with "no digit" blobs (its recipe: "robust judge" in
                       :data:`mnist_viz.networks.RECIPES`): small
                       pixel changes that fool a standard network do not fool
                       it, and it answers "none of them" to blotches of ink, so
                       it reads the reference method's scribbles about as often
                       as chance. It shares a robust network's bias, so it is
                       for judging the images of *standard* networks.

Each image's distance to its nearest training digit is reported too, so a reader
can see that the images are not copies of training digits. Two measures of the
drawing itself say whether it is made like handwriting: :func:`solid_ink` (are the
strokes solid, or dotted?) and :func:`clean_background` (is the paper away from
the strokes white, or grey?).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence

import numpy as np
from scipy.ndimage import binary_dilation
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import NearestNeighbors

from mnist_viz._tf import keras, tf
from mnist_viz.data import MNIST, Split, check_classes, check_images, img_size_flat, num_classes
from mnist_viz.networks import get_network

# A pixel is ink above this value (pixels run from 0, no ink, to 1, full ink).
INK = 0.5
# The paper: pixels more than this many pixels (in a square's reach) from any ink...
PAPER_REACH = 2
# ...which count as clean below this value.
PAPER_BLANK = 0.1
# Structuring elements over a stack of images (one image never touches another).
_FOUR_NEIGHBOURS = np.array([[[0, 1, 0], [1, 0, 1], [0, 1, 0]]], bool)
_PAPER_REACH = np.ones((1, 2 * PAPER_REACH + 1, 2 * PAPER_REACH + 1), bool)


def train_pixel_judge(split: Split) -> LogisticRegression:
    """Multinomial logistic regression on raw pixels (about 92% test accuracy)."""
    classifier = LogisticRegression(C=0.1, max_iter=300)
    with warnings.catch_warnings():  # a few more iterations change nothing visible
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(split.images, split.cls)
    return classifier


def _reader(cnn: keras.Model) -> Callable:
    """The digits ``cnn`` reads in a batch of flat images."""
    return lambda images: np.argmax(cnn(images, training=False).numpy(), axis=1)


def _network_judge(recipe: str) -> Callable[[MNIST], Callable]:
    """A judge that reads with the network named ``recipe`` in the table of recipes."""
    return lambda data: _reader(get_network(recipe, data))


def _pixel_judge(data: MNIST) -> Callable:
    return train_pixel_judge(data.train).predict


@dataclasses.dataclass(frozen=True)
class JudgeSpec:
    """How to get one judge: ``make(data)`` returns a function from flat images
    (n, 784) to the digits it reads."""

    description: str
    make: Callable[[MNIST], Callable]


# name -> judge. A new judge is one entry; verdicts, tables and summary.json
# list every judge here, in this order.
JUDGES: dict[str, JudgeSpec] = {
    "cnn": JudgeSpec(
        "an independent CNN (3x3 kernels, 12 and 24 filters, seed 1)", _network_judge("judge")
    ),
    "pixel": JudgeSpec("logistic regression on raw pixels", _pixel_judge),
    "robust": JudgeSpec(
        "the CNN judge's architecture, adversarially trained (epsilon 0.3) "
        "and taught to give no class to 'no digit' blobs",
        _network_judge("robust judge"),
    ),
}


@dataclasses.dataclass
class Judges:
    """The trained judges (name -> classifier) and an index of the training digits
    for nearest distances."""

    classifiers: dict
    training_digits: NearestNeighbors

    @property
    def names(self) -> list[str]:
        return list(self.classifiers)


def load_judges(data: MNIST, names: Sequence[str] | None = None) -> Judges:
    """The judges in :data:`JUDGES` (default: all). The network judges come from
    :func:`~mnist_viz.networks.get_network` (trained on ``data.train`` the first
    time); logistic regression is fitted to ``data.train`` (~10 s)."""
    names = list(JUDGES) if names is None else list(names)
    unknown = [name for name in names if name not in JUDGES]
    if unknown:
        raise ValueError(f"unknown judges {unknown}; valid: {list(JUDGES)}.")
    if not names:
        raise ValueError(f"names is empty; give at least one of {list(JUDGES)}.")
    classifiers = {name: JUDGES[name].make(data) for name in names}
    return Judges(classifiers, NearestNeighbors(n_neighbors=1).fit(data.train.images))


def solid_ink(images) -> np.ndarray:
    """Per image: the share of its ink pixels (above :data:`INK`) that touch
    another ink pixel above, below, left or right. A pen draws solid strokes (real
    test digits: median 1.0, 1st percentile about 0.97); dotted strokes, ink on
    every other pixel like a checkerboard's black squares, score near 0. An image
    without ink scores 0."""
    ink = check_images("images", images) > INK
    touching = binary_dilation(ink, _FOUR_NEIGHBOURS)
    counts = ink.sum(axis=(1, 2))
    return np.where(counts > 0, (ink & touching).sum(axis=(1, 2)) / np.maximum(counts, 1), 0.0)


def clean_background(images) -> np.ndarray:
    """Per image: the share of its paper that is clean. The paper is every pixel
    more than :data:`PAPER_REACH` pixels from any ink pixel (a square's reach);
    clean means below :data:`PAPER_BLANK`. Real test digits score 1.0; a digit on
    a grey halo scores lower. An image with no paper (ink everywhere) scores 1."""
    images = check_images("images", images)
    paper = ~binary_dilation(images > INK, _PAPER_REACH)
    blank = images < PAPER_BLANK
    counts = paper.sum(axis=(1, 2))
    return np.where(counts > 0, (paper & blank).sum(axis=(1, 2)) / np.maximum(counts, 1), 1.0)


@dataclasses.dataclass(frozen=True)
class Yardstick:
    """How near real test digits lie to their nearest training digit. The series
    calls an image *as close to a real digit as real digits are* when its own
    distance is at most ``limit``, the 99th percentile of real digits'."""

    median: float
    limit: float
    largest: float
    count: int

    def inside(self, distances) -> int:
        """How many of ``distances`` are at most :attr:`limit`."""
        return int(np.sum(np.asarray(distances) <= self.limit))


def real_digit_yardstick(judges: Judges, images, percentile: float = 99.0) -> Yardstick:
    """The :class:`Yardstick` of real digits ``images`` (the notebooks use the
    first 2,000 test digits): each one's distance to its nearest training digit."""
    images = check_images("images", images).reshape(-1, img_size_flat)
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile!r}.")
    distances = judges.training_digits.kneighbors(images)[0][:, 0]
    return Yardstick(
        median=float(np.median(distances)),
        limit=float(np.percentile(distances, percentile)),
        largest=float(distances.max()),
        count=len(distances),
    )


@dataclasses.dataclass
class Verdict:
    """The judges' verdict on images meant as ``intended`` digits (one entry each).

    ``says[name]`` holds the digits that judge reads."""

    intended: np.ndarray
    says: dict
    confidence: np.ndarray
    nearest_distance: np.ndarray
    solid_ink: np.ndarray
    clean_background: np.ndarray

    def correct(self, name: str) -> int:
        """How many images the judge ``name`` reads as intended."""
        return int(np.sum(self.says[name] == self.intended))

    def summary(self) -> dict:
        """Plain numbers, e.g. for JSON: ``<name>_judge_correct`` per judge."""
        return {
            "images": int(len(self.intended)),
            **{f"{name}_judge_correct": self.correct(name) for name in self.says},
            "generator_confidence_mean": float(self.confidence.mean()),
            "nearest_training_distance_mean": float(self.nearest_distance.mean()),
            "solid_ink_mean": float(self.solid_ink.mean()),
            "clean_background_mean": float(self.clean_background.mean()),
        }


def judge(model: keras.Model, judges: Judges, images, intended=None) -> Verdict:
    """Judge images meant as digits. ``intended`` defaults to 0..9 for 10 images.

    ``confidence`` is the generating ``model``'s softmax probability of the
    intended digit; ``nearest_distance`` the Euclidean pixel distance to the
    closest training image; ``solid_ink`` and ``clean_background`` per image (see
    :func:`solid_ink`, :func:`clean_background`).
    """
    images = check_images("images", images).reshape(-1, img_size_flat)
    if intended is None:
        if len(images) != num_classes:
            raise ValueError(
                f"give intended digits for {len(images)} images; only 10 "
                "images default to the digits 0..9."
            )
        intended = np.arange(num_classes)
    intended = check_classes("intended", intended, len(images))
    probabilities = tf.nn.softmax(model(images, training=False)).numpy()
    distance, _ = judges.training_digits.kneighbors(images)
    return Verdict(
        intended=intended,
        says={name: np.asarray(read(images)) for name, read in judges.classifiers.items()},
        confidence=probabilities[np.arange(len(images)), intended],
        nearest_distance=distance[:, 0],
        solid_ink=solid_ink(images),
        clean_background=clean_background(images),
    )


def score_restarts(model: keras.Model, judges: Judges, digit_sets) -> list[Verdict]:
    """One verdict per restart: ``digit_sets`` has shape (restarts, 10, 28, 28)
    or (restarts, 10, 784)."""
    digit_sets = np.asarray(digit_sets)
    if digit_sets.ndim not in (3, 4) or digit_sets.shape[1] != num_classes:
        raise ValueError(
            f"digit_sets must have shape (restarts, 10, 28, 28), got {digit_sets.shape}."
        )
    return [judge(model, judges, digits) for digits in digit_sets]


def mean_scores(verdicts: list[Verdict], typical_distance: float | None = None) -> dict:
    """Averages over restarts: correct out of 10 per judge (``<name>_judge_mean``
    and ``<name>_judge_per_restart``), confidence, distance. With
    ``typical_distance`` (e.g. the 99th percentile of real test digits' nearest
    distances), also how many images per restart lie within it (``near_real_mean``)."""
    scores = {"restarts": len(verdicts)}
    for name in verdicts[0].says:
        per_restart = [v.correct(name) for v in verdicts]
        scores[f"{name}_judge_mean"] = float(np.mean(per_restart))
        scores[f"{name}_judge_per_restart"] = per_restart
    if typical_distance is not None:
        scores["near_real_mean"] = float(
            np.mean([np.sum(v.nearest_distance <= typical_distance) for v in verdicts])
        )
    return {
        **scores,
        "generator_confidence_mean": float(np.mean([v.confidence.mean() for v in verdicts])),
        "nearest_training_distance_mean": float(
            np.mean([v.nearest_distance.mean() for v in verdicts])
        ),
        "solid_ink_mean": float(np.mean([v.solid_ink.mean() for v in verdicts])),
        "clean_background_mean": float(np.mean([v.clean_background.mean() for v in verdicts])),
    }


def score_table(rows: dict) -> str:
    """A Markdown table of :func:`mean_scores` results, one row per method name and
    one column per judge (and, when measured, images as near as real digits)."""
    first = next(iter(rows.values()))
    judges = [key[: -len("_judge_mean")] for key in first if key.endswith("_judge_mean")]
    near = "near_real_mean" in first
    lines = [
        "| method | "
        + " | ".join(f"{name} judge (of 10)" for name in judges)
        + " | confidence of the network that drew it | distance to nearest training digit |"
        + (" as near as real digits (of 10) |" if near else "")
        + " solid ink | clean background |",
        "| --- |" + " --- |" * (len(judges) + 4 + near),
    ]
    for method, scores in rows.items():
        cells = [
            f"{scores[f'{name}_judge_mean']:.1f} "
            f"({', '.join(map(str, scores[f'{name}_judge_per_restart']))})"
            for name in judges
        ]
        lines.append(
            f"| {method} | " + " | ".join(cells) + f" | {scores['generator_confidence_mean']:.1%} "
            f"| {scores['nearest_training_distance_mean']:.1f} |"
            + (f" {scores['near_real_mean']:.1f} |" if near else "")
            + f" {scores['solid_ink_mean']:.2f} | {scores['clean_background_mean']:.2f} |"
        )
    return "\n".join(lines)
