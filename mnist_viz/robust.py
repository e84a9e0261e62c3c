"""Adversarial examples, and training that resists them.

    pgd_attack           projected gradient descent in an L-infinity ball (Madry
                         et al., 2018): batched, compiled once per model
    robust_accuracy      the fraction of images still classified right under attack
    AdversarialTrainer   the tutorial's :class:`~mnist_viz.model.Trainer`, each step
                         on FGSM images with a random start ("fast" adversarial
                         training, Wong et al., 2020), optionally with "no digit"
                         blobs that it learns to give every class the same probability
    train_adversarially  epochs of it, guarded against catastrophic overfitting

Which networks are trained this way, and how long, is in
:data:`mnist_viz.networks.RECIPES`. Pixels live in [0, 1]; an attack of size
``epsilon`` moves every pixel by at most ``epsilon`` and keeps it in [0, 1].
"""

from __future__ import annotations

import math
import numbers
import weakref

import numpy as np

from mnist_viz._checks import (
    MAX_SEED,
    check_int,
    check_positive_float,
    check_positive_int,
    check_seed,
)
from mnist_viz._tf import keras, tf
from mnist_viz.data import Split, check_classes, check_images, img_size_flat, num_classes
from mnist_viz.model import Trainer, predict_classes
from mnist_viz.starts import DEFAULT_SEED

# The blobs: Gaussian-smoothed noise (sigma in pixels), cut at a random level so
# that ink covers 20% to 70% of the image, with soft edges.
BLOB_SIGMA = 1.6
BLOB_INK = (0.2, 0.7)
BLOB_SHARPNESS = 8.0
BLOBS = {"sigma": BLOB_SIGMA, "ink": BLOB_INK, "sharpness": BLOB_SHARPNESS}
# The attack that measures robustness: PGD-20, steps of epsilon / 8, one random
# start, at the epsilon the literature uses for MNIST.
TEST_EPSILON = 0.3
ATTACK_STEPS = 20
# Catastrophic overfitting shows as PGD accuracy on held-out digits falling
# within an epoch; a fall of more than this much restores the best epoch and stops.
COLLAPSE_DROP = 0.2
HELD_OUT = 512


def check_epsilon(epsilon) -> float:
    """An attack size in (0, 1]: pixels live in [0, 1]."""
    epsilon = check_positive_float("epsilon", epsilon)
    if epsilon > 1:
        raise ValueError(f"epsilon must be in (0, 1] (pixels live in [0, 1]), got {epsilon}.")
    return epsilon


# ---------------------------------------------------------------------------
# The attack
# ---------------------------------------------------------------------------

_attacks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _attack_function(model: keras.Model):
    """The compiled attack for ``model``; epsilon, step size, steps and seed are
    tensors, so a new value never recompiles."""
    if model not in _attacks:
        model_ref = weakref.ref(model)

        @tf.function(reduce_retracing=True, autograph=False)
        def attack(images, labels, sign, epsilon, step_size, steps, seed):
            net = model_ref()
            low = tf.maximum(images - epsilon, 0.0)
            high = tf.minimum(images + epsilon, 1.0)
            noise = tf.random.stateless_uniform(tf.shape(images), seed, -1.0, 1.0)
            start = tf.clip_by_value(images + epsilon * noise, low, high)

            def step(k, adversarial):
                with tf.GradientTape() as tape:
                    tape.watch(adversarial)
                    loss = tf.reduce_sum(
                        tf.nn.softmax_cross_entropy_with_logits(
                            labels, net(adversarial, training=False)
                        )
                    )
                grad = tape.gradient(loss, adversarial)
                moved = adversarial + sign * step_size * tf.sign(grad)
                return k + 1, tf.clip_by_value(moved, low, high)

            _, adversarial = tf.while_loop(lambda k, _: k < steps, step, (tf.constant(0), start))
            return adversarial

        _attacks[model] = attack
    return _attacks[model]


def pgd_attack(
    model: keras.Model,
    images,
    cls,
    epsilon: float,
    steps: int = ATTACK_STEPS,
    step_size: float | None = None,
    targeted: bool = False,
    seed: int | None = DEFAULT_SEED,
    batch_size: int = 1000,
) -> np.ndarray:
    """Adversarial versions of ``images``: projected gradient descent (Madry et
    al., 2018) in the L-infinity ball of radius ``epsilon``, from one random start.

    Untargeted (default), each step moves away from the true class ``cls``;
    ``targeted=True`` moves toward the class ``cls`` instead. ``step_size``
    defaults to epsilon / 8. Returns flat images (n, 784) in [0, 1].
    """
    images = check_images("images", images).reshape(-1, img_size_flat)
    cls = check_classes("cls", cls, len(images))
    epsilon = check_epsilon(epsilon)
    steps = check_positive_int("steps", steps)
    step_size = epsilon / 8 if step_size is None else check_positive_float("step_size", step_size)
    batch_size = check_positive_int("batch_size", batch_size)
    seed = check_seed(seed)
    if seed is None:
        seed = int(np.random.default_rng().integers(MAX_SEED))
    attack = _attack_function(model)
    labels = np.eye(num_classes, dtype=np.float32)[cls]
    sign = tf.constant(-1.0 if targeted else 1.0)
    numbers = [tf.constant(v, tf.float32) for v in (epsilon, step_size)]
    out = []
    for start in range(0, len(images), batch_size):
        part = slice(start, start + batch_size)
        out.append(
            attack(
                tf.constant(images[part]),
                tf.constant(labels[part]),
                sign,
                *numbers,
                tf.constant(steps),
                tf.constant([seed, start], tf.int32),
            ).numpy()
        )
    return np.concatenate(out)


def robust_accuracy(
    model: keras.Model,
    images,
    cls,
    epsilon: float,
    steps: int = ATTACK_STEPS,
    seed: int | None = DEFAULT_SEED,
) -> float:
    """The fraction of ``images`` that ``model`` still classifies as ``cls`` after
    :func:`pgd_attack` (step epsilon / 8, one random start)."""
    adversarial = pgd_attack(model, images, cls, epsilon, steps, seed=seed)
    return float(np.mean(predict_classes(model, adversarial, 1000) == np.asarray(cls)))


# ---------------------------------------------------------------------------
# Adversarial training
# ---------------------------------------------------------------------------


class AdversarialTrainer(Trainer):
    """A :class:`~mnist_viz.model.Trainer` whose every step trains on FGSM images
    with a random start: a uniform point in the ``epsilon`` ball, then one signed
    gradient step of ``step_ratio * epsilon``, projected back into the ball.

    The random starts are drawn from (``seed``, step number), so training is
    repeatable, and an interrupted run continues as an uninterrupted one would.

    With ``no_digit_share`` above 0, each batch also gets that share of its size
    in :func:`no_digit_blobs`, labelled 1/10 for every class and perturbed like
    the digits: the network learns to say "none of them" to shapes that are not
    digits, where it would otherwise pick the class they most resemble.
    """

    def __init__(
        self,
        model: keras.Model,
        split: Split,
        epsilon: float = 0.3,
        step_ratio: float = 1.25,
        seed: int = 0,
        no_digit_share: float = 0.0,
        **trainer_options,
    ):
        self.full_epsilon = check_epsilon(epsilon)
        self.epsilon = tf.Variable(self.full_epsilon, trainable=False, dtype=tf.float32)
        self.step_ratio = check_positive_float("step_ratio", step_ratio)
        self.seed = check_int("seed", seed, 0, MAX_SEED)
        share = check_no_digit_share(no_digit_share)
        super().__init__(model, split, **trainer_options)
        self.no_digits = round(share * self.batch_size)
        if share and not self.no_digits:
            raise ValueError(
                f"no_digit_share {no_digit_share} gives no blob in a batch of "
                f"{self.batch_size}; use 0 or at least {1 / self.batch_size:.3g}."
            )

    def _train_step(self, images, labels):
        epsilon = tf.convert_to_tensor(self.epsilon)
        seed = tf.stack(
            [tf.constant(self.seed, tf.int64), tf.cast(self.optimizer.iterations.value, tf.int64)]
        )
        if self.no_digits:
            blob_seed = tf.random.experimental.stateless_fold_in(seed, 1)
            blobs = no_digit_blobs(self.no_digits, blob_seed)
            images = tf.concat([images, blobs], axis=0)
            labels = tf.concat(
                [labels, tf.fill((self.no_digits, num_classes), 1 / num_classes)], axis=0
            )
        delta = epsilon * tf.random.stateless_uniform(tf.shape(images), seed, -1.0, 1.0)
        with tf.GradientTape() as tape:
            start = tf.clip_by_value(images + delta, 0.0, 1.0)
            tape.watch(start)
            loss = self.loss_fn(labels, self.model(start, training=False))
        grad = tape.gradient(loss, start)
        delta = tf.clip_by_value(
            delta + self.step_ratio * epsilon * tf.sign(grad), -epsilon, epsilon
        )
        adversarial = tf.stop_gradient(tf.clip_by_value(images + delta, 0.0, 1.0))
        return super()._train_step(adversarial, labels)


def _blob_kernel(sigma: float) -> tf.Tensor:
    """A normalised 2-D Gaussian kernel of ``sigma`` pixels, 9 x 9, for conv2d."""
    offsets = np.arange(9) - 4.0
    bell = np.exp(-(offsets**2) / (2 * sigma**2))
    kernel = np.outer(bell, bell) / np.outer(bell, bell).sum()
    return tf.constant(kernel[:, :, None, None], tf.float32)


def no_digit_blobs(count: int, seed) -> tf.Tensor:
    """``count`` images that are no digit, (count, 784) in [0, 1]: seeded noise
    smoothed by a Gaussian of :data:`BLOB_SIGMA` pixels and cut at a random level,
    so that a few soft-edged blotches of ink cover 20% to 70% of each image.

    ``seed`` is a stateless seed (two integers), so the same seed gives the same
    blobs, inside a compiled training step too.
    """
    count = check_positive_int("count", count)
    seed = tf.cast(seed, tf.int64)
    noise = tf.random.stateless_normal((count, 28, 28, 1), seed)
    smooth = tf.reshape(
        tf.nn.conv2d(noise, _blob_kernel(BLOB_SIGMA), 1, "SAME"), (count, img_size_flat)
    )
    mean, variance = tf.nn.moments(smooth, axes=[1], keepdims=True)
    standard = (smooth - mean) / tf.sqrt(variance)
    low, high = BLOB_INK
    ink = tf.random.stateless_uniform(
        (count,), tf.random.experimental.stateless_fold_in(seed, 1), low, high
    )
    rank = tf.cast((1.0 - ink) * (img_size_flat - 1), tf.int32)
    level = tf.gather(tf.sort(standard, axis=1), rank, batch_dims=1)[:, None]
    return tf.sigmoid((standard - level) * BLOB_SHARPNESS)


def _train_one_epoch(trainer: AdversarialTrainer, steps: int, epsilon: float, ramp: int) -> None:
    """``steps`` steps; during the first ``ramp`` steps of training, epsilon grows
    linearly (in chunks of 50 steps) toward its full size."""
    while steps > 0:
        done = trainer.total_iterations
        chunk = min(50, steps) if done < ramp else steps
        trainer.epsilon.assign(epsilon * min(1.0, (done + 1) / ramp) if ramp else epsilon)
        trainer.optimize(chunk)
        steps -= chunk


def _snapshot(trainer: Trainer) -> list[np.ndarray]:
    return [v.numpy() for v in (*trainer.model.weights, *trainer.optimizer.variables)]


def _restore(trainer: Trainer, snapshot: list[np.ndarray]) -> None:
    for variable, value in zip((*trainer.model.weights, *trainer.optimizer.variables), snapshot):
        variable.assign(value)


def train_adversarially(
    trainer: AdversarialTrainer,
    validation: Split,
    epochs: int,
    ramp_epochs: float = 0.5,
    report: bool = True,
) -> None:
    """``epochs`` epochs of ``trainer``, epsilon growing linearly from 0 over the
    first ``ramp_epochs``.

    After every epoch, PGD-10 accuracy on 512 ``validation`` digits is measured
    (and printed with ``report``). If it falls by more than :data:`COLLAPSE_DROP`
    below its best, FGSM training has overfitted catastrophically (Wong et al.,
    2020): the best epoch's weights and optimiser state are restored and training
    stops.
    """
    epsilon = trainer.full_epsilon
    per_epoch = math.ceil(len(trainer.split) / trainer.batch_size)
    held_out = validation.images[:HELD_OUT], validation.cls[:HELD_OUT]
    best, best_accuracy = None, -1.0
    ramp = round(ramp_epochs * per_epoch)
    for epoch in range(1, epochs + 1):
        _train_one_epoch(trainer, per_epoch, epsilon, ramp)
        accuracy = robust_accuracy(trainer.model, *held_out, epsilon, steps=10, seed=epoch)
        if report:
            print(
                f"Epoch {epoch}/{epochs}: PGD-10 accuracy at epsilon "
                f"{epsilon:.2f} on {HELD_OUT} held-out digits: {accuracy:.1%}"
            )
        if accuracy >= best_accuracy:
            best, best_accuracy = _snapshot(trainer), accuracy
        elif accuracy < best_accuracy - COLLAPSE_DROP:
            _restore(trainer, best)
            print(
                f"PGD accuracy fell from {best_accuracy:.1%} to {accuracy:.1%}: "
                "catastrophic overfitting; restored the best epoch and stopped."
            )
            break


def check_no_digit_share(value) -> float:
    """The share of extra "no digit" rows per batch: a number in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"no_digit_share must be a number in [0, 1), got {value!r} ({type(value).__name__})."
        )
    if not 0 <= value < 1:
        raise ValueError(f"no_digit_share must be in [0, 1), got {value}.")
    return float(value)
