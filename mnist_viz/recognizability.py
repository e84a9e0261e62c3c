"""Does an image of a "digit" look like that digit? Judges that did not make it.

The network that generated an image is close to 100% sure of almost anything it
generated, noise included, so its confidence proves nothing. Two independent
judges decide instead:

    a CNN judge        another architecture (3x3 kernels, fewer filters) trained
                       from another seed: does a *different* network read it?
    a pixel judge      logistic regression on raw pixels: does the ink sit where
                       people put ink for that digit?

Each image's distance to its nearest training digit is reported too, so a reader
can see that the images are not copies of training digits.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import NearestNeighbors

from mnist_viz._checks import check_classes, check_images
from mnist_viz._tf import keras, tf
from mnist_viz.data import MNIST, Split, img_size_flat, num_classes
from mnist_viz.model import FAST_RECIPE, cached_model_path, load_or_train, train_cnn

# A judge must not share the generator's architecture or seed: the tutorial's
# network has 5x5 kernels with 16 and 36 filters and 128 units, seed 0.
JUDGE_ARCHITECTURE = {"conv_filters": (12, 24), "fc_units": (64,), "kernel_size": 3}
JUDGE_SEED = 1


@dataclasses.dataclass
class Judges:
    """The two judges and an index of the training digits for nearest distances."""

    cnn: keras.Model
    pixels: LogisticRegression
    training_digits: NearestNeighbors


def train_judge_cnn(split: Split, seed: int = JUDGE_SEED) -> keras.Model:
    """A CNN unlike the tutorial's (see :data:`JUDGE_ARCHITECTURE`), fast recipe."""
    return train_cnn(split, seed=seed, **JUDGE_ARCHITECTURE)


def train_pixel_judge(split: Split) -> LogisticRegression:
    """Multinomial logistic regression on raw pixels (about 92% test accuracy)."""
    classifier = LogisticRegression(C=0.1, max_iter=300)
    with warnings.catch_warnings():  # a few more iterations change nothing visible
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(split.images, split.cls)
    return classifier


def judge_model_path() -> Path:
    """Where the cache keeps the CNN judge, keyed by what makes it."""
    return cached_model_path("judge_cnn", **JUDGE_ARCHITECTURE, recipe=FAST_RECIPE,
                             seed=JUDGE_SEED)


def load_judges(data: MNIST, path: str | os.PathLike | None = None) -> Judges:
    """Both judges, trained on ``data.train``. The CNN judge is cached next to the
    tutorial's model (see :func:`judge_model_path`); logistic regression takes ~10 s."""
    path = Path(path) if path is not None else judge_model_path()
    cnn = load_or_train(lambda: train_judge_cnn(data.train), path,
                        "the judge CNN (about 15 s)")
    pixels = train_pixel_judge(data.train)
    training_digits = NearestNeighbors(n_neighbors=1).fit(data.train.images)
    return Judges(cnn, pixels, training_digits)


@dataclasses.dataclass
class Verdict:
    """The judges' verdict on images meant as ``intended`` digits (one entry each)."""

    intended: np.ndarray
    cnn_says: np.ndarray
    pixels_says: np.ndarray
    confidence: np.ndarray
    nearest_distance: np.ndarray

    @property
    def cnn_correct(self) -> int:
        """How many images the CNN judge reads as intended."""
        return int(np.sum(self.cnn_says == self.intended))

    @property
    def pixels_correct(self) -> int:
        """How many images the pixel judge reads as intended."""
        return int(np.sum(self.pixels_says == self.intended))

    def summary(self) -> dict:
        """Plain numbers, e.g. for JSON."""
        return {"images": int(len(self.intended)),
                "cnn_judge_correct": self.cnn_correct,
                "pixel_judge_correct": self.pixels_correct,
                "generator_confidence_mean": float(self.confidence.mean()),
                "nearest_training_distance_mean": float(self.nearest_distance.mean())}


def judge(model: keras.Model, judges: Judges, images, intended=None) -> Verdict:
    """Judge images meant as digits. ``intended`` defaults to 0..9 for 10 images.

    ``confidence`` is the generating ``model``'s softmax probability of the
    intended digit; ``nearest_distance`` the Euclidean pixel distance to the
    closest training image.
    """
    images = check_images("images", images).reshape(-1, img_size_flat)
    if intended is None:
        if len(images) != num_classes:
            raise ValueError(f"give intended digits for {len(images)} images; only 10 "
                             "images default to the digits 0..9.")
        intended = np.arange(num_classes)
    intended = check_classes("intended", intended, len(images))
    probabilities = tf.nn.softmax(model(images, training=False)).numpy()
    distance, _ = judges.training_digits.kneighbors(images)
    return Verdict(intended=intended,
                   cnn_says=np.argmax(judges.cnn(images, training=False).numpy(), axis=1),
                   pixels_says=judges.pixels.predict(images),
                   confidence=probabilities[np.arange(len(images)), intended],
                   nearest_distance=distance[:, 0])


def score_restarts(model: keras.Model, judges: Judges, digit_sets) -> list[Verdict]:
    """One verdict per restart: ``digit_sets`` has shape (restarts, 10, 28, 28)
    or (restarts, 10, 784)."""
    digit_sets = np.asarray(digit_sets)
    if digit_sets.ndim not in (3, 4) or digit_sets.shape[1] != num_classes:
        raise ValueError(f"digit_sets must have shape (restarts, 10, 28, 28), got "
                         f"{digit_sets.shape}.")
    return [judge(model, judges, digits) for digits in digit_sets]


def mean_scores(verdicts: list[Verdict]) -> dict:
    """Averages over restarts: correct out of 10 per judge, confidence, distance."""
    return {"restarts": len(verdicts),
            "cnn_judge_mean": float(np.mean([v.cnn_correct for v in verdicts])),
            "pixel_judge_mean": float(np.mean([v.pixels_correct for v in verdicts])),
            "cnn_judge_per_restart": [v.cnn_correct for v in verdicts],
            "pixel_judge_per_restart": [v.pixels_correct for v in verdicts],
            "generator_confidence_mean": float(np.mean([v.confidence.mean() for v in verdicts])),
            "nearest_training_distance_mean": float(
                np.mean([v.nearest_distance.mean() for v in verdicts]))}


def score_table(rows: dict) -> str:
    """A Markdown table of :func:`mean_scores` results, one row per method name."""
    lines = ["| method | CNN judge (of 10) | pixel judge (of 10) | generator's confidence "
             "| distance to nearest training digit |",
             "| --- | --- | --- | --- | --- |"]
    for name, scores in rows.items():
        lines.append(f"| {name} | {scores['cnn_judge_mean']:.1f} "
                     f"({', '.join(map(str, scores['cnn_judge_per_restart']))}) "
                     f"| {scores['pixel_judge_mean']:.1f} "
                     f"({', '.join(map(str, scores['pixel_judge_per_restart']))}) "
                     f"| {scores['generator_confidence_mean']:.1%} "
                     f"| {scores['nearest_training_distance_mean']:.1f} |")
    return "\n".join(lines)
