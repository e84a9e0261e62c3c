"""Adversarial examples and adversarial training, on tiny models and small data."""

import numpy as np
import pytest
from scipy.special import softmax

import mnist_viz as mv
from mnist_viz import robust
from mnist_viz.data import MNIST, Split

TINY = {"conv_filters": (4,), "fc_units": (16,), "kernel_size": 3}
TINY_RECIPE = {**robust.ROBUST_RECIPE, "epsilon": 0.2, "epochs": 1}


def _small(mnist, n):
    """The first ``n`` training digits as a training set; the rest as is."""
    train = Split(np.round(mnist.train.images[:n] * 255), mnist.train.cls[:n])
    return MNIST(train=train, validation=mnist.validation, test=mnist.test)


def test_pgd_stays_in_the_ball_and_the_pixel_range_and_fools_the_model(mnist, trained_model):
    images, cls = mnist.test.images[:200], mnist.test.cls[:200]
    adversarial = robust.pgd_attack(trained_model, images, cls, epsilon=0.1)
    assert adversarial.shape == (200, 784)
    assert np.abs(adversarial - images).max() <= 0.1 + 1e-6
    assert adversarial.min() >= 0 and adversarial.max() <= 1
    clean = np.mean(mv.predict_classes(trained_model, images) == cls)
    attacked = robust.robust_accuracy(trained_model, images, cls, epsilon=0.1)
    assert attacked < clean - 0.3  # 300 training steps leave a fragile network


def test_a_targeted_attack_reaches_its_target(mnist, trained_model):
    images = mnist.test.images[:100]
    target = (mnist.test.cls[:100] + 1) % 10
    adversarial = robust.pgd_attack(
        trained_model, images, target, epsilon=0.3, steps=40, targeted=True
    )
    assert np.mean(mv.predict_classes(trained_model, adversarial) == target) > 0.8


def test_the_attack_is_seeded_and_batched_alike(mnist, trained_model):
    images, cls = mnist.test.images[:30], mnist.test.cls[:30]
    one = robust.pgd_attack(trained_model, images, cls, 0.2, steps=3, seed=5)
    np.testing.assert_array_equal(
        one, robust.pgd_attack(trained_model, images, cls, 0.2, steps=3, seed=5)
    )
    assert not np.array_equal(
        one, robust.pgd_attack(trained_model, images, cls, 0.2, steps=3, seed=6)
    )
    split = robust.pgd_attack(trained_model, images, cls, 0.2, steps=3, seed=5, batch_size=7)
    assert np.abs(split - images).max() <= 0.2 + 1e-6 and split.shape == one.shape


def test_adversarial_training_resists_the_attack_better(mnist):
    data = _small(mnist, 20_000)
    standard = mv.train_cnn(data.train, **TINY, recipe={**mv.FAST_RECIPE, "num_iterations": 157})
    robust_model = robust.train_robust_cnn(data, TINY, TINY_RECIPE, seed=0, report=False)
    test = mnist.test.images[:300], mnist.test.cls[:300]
    assert (
        robust.robust_accuracy(robust_model, *test, epsilon=0.2)
        > robust.robust_accuracy(standard, *test, epsilon=0.2) + 0.1
    )


def test_a_collapse_restores_the_best_epoch_and_stops(mnist, monkeypatch, capsys):
    """Catastrophic overfitting, staged: held-out PGD accuracy falls after epoch 1."""
    measured, weights = iter([0.6, 0.1, 0.9]), []

    def staged_accuracy(model, images, cls, epsilon, steps, seed):
        weights.append([w.copy() for w in model.get_weights()])
        return next(measured)

    monkeypatch.setattr(robust, "robust_accuracy", staged_accuracy)
    model = robust.train_robust_cnn(
        _small(mnist, 1280), TINY, {**TINY_RECIPE, "epochs": 3}, report=False
    )
    assert len(weights) == 2  # epoch 3 never ran
    for a, b in zip(model.get_weights(), weights[0]):
        np.testing.assert_array_equal(a, b)
    assert "fell from 60.0% to 10.0%: catastrophic overfitting" in capsys.readouterr().out


def test_plain_steps_have_the_set_length(trained_model):
    start = np.full((3, 28, 28), 0.5, np.float32)  # far from the clipping bounds
    objectives = mv.layer_objectives(trained_model, None, [0, 1, 2])
    moved = mv.visualize(trained_model, objectives, mv.PLAIN.replace(steps=1), start=start)
    lengths = np.linalg.norm((moved.images - start).reshape(3, -1), axis=1)
    np.testing.assert_allclose(lengths, mv.PLAIN.learning_rate, rtol=1e-4)


def test_neutral_starts_differ_by_small_seeded_noise(mnist):
    base = robust.mean_digit(mnist)
    assert base.shape == (28, 28) and 0.1 < base.mean() < 0.15
    starts = robust.neutral_starts(base, 5, noise=0.05, seed=1)
    assert starts.shape == (5, 28, 28) and starts.min() >= 0
    assert np.abs(starts - base).max() <= 0.05 + 1e-6
    assert not np.array_equal(starts[0], starts[1])
    np.testing.assert_array_equal(starts, robust.neutral_starts(base, 5, noise=0.05, seed=1))


def test_ink_added_keeps_the_strokes_the_steps_drew_and_drops_the_start():
    start = np.full((2, 28, 28), 0.3, np.float32)  # a grey halo everywhere
    final = start.copy()
    final[:, 10:18, 14] = 0.9  # a stroke drawn by the steps
    final[:, 0, 0] = 0.33  # darkened, but by less than the threshold
    final[1, 5, 5] = 0.1  # ink removed by the steps
    drawn = robust.ink_added(final, start, threshold=0.05)
    assert drawn.shape == (2, 28, 28)
    np.testing.assert_array_equal(drawn[:, 10:18, 14], np.float32(0.9))
    drawn[:, 10:18, 14] = 0
    assert not drawn.any()  # halo, small change and removed ink all gone
    np.testing.assert_array_equal(
        robust.ink_added(final.reshape(2, -1), start.reshape(2, -1)), robust.ink_added(final, start)
    )


def test_ink_added_rejects_mismatched_shapes_and_bad_thresholds():
    images = np.zeros((2, 28, 28), np.float32)
    with pytest.raises(ValueError, match="same shape"):
        robust.ink_added(images, images[:1])
    with pytest.raises(ValueError, match="threshold"):
        robust.ink_added(images, images, threshold=0)


def test_a_broken_robust_cache_is_retrained_and_replaced(
    mnist, tmp_path, monkeypatch, capsys, trained_model
):
    path = tmp_path / "robust.keras"
    path.write_bytes(b"not a model")
    monkeypatch.setattr(robust, "train_robust_cnn", lambda data: trained_model)
    assert robust.load_or_train_robust(mnist, path) is trained_model
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "robust.keras is unreadable" in lines[0]
    assert mv.load_model(path).count_params() == trained_model.count_params()


def test_no_digit_blobs_are_seeded_smooth_blotches_of_ink():
    blobs = robust.no_digit_blobs(200, [5, 6]).numpy()
    assert blobs.shape == (200, 784) and blobs.min() >= 0 and blobs.max() <= 1
    ink = (blobs > 0.5).mean(axis=1)
    low, high = robust.BLOB_INK
    assert ink.min() >= low - 0.03 and ink.max() <= high + 0.03 and ink.std() > 0.1
    np.testing.assert_array_equal(blobs, robust.no_digit_blobs(200, [5, 6]).numpy())
    assert np.abs(blobs - robust.no_digit_blobs(200, [5, 7]).numpy()).mean() > 0.2
    images = blobs.reshape(-1, 28, 28)
    neighbours = np.abs(np.diff(images, axis=2)).mean()
    scattered = np.random.default_rng(0).permuted(images.reshape(200, -1), axis=1)
    assert neighbours < 0.5 * np.abs(np.diff(scattered.reshape(-1, 28, 28), axis=2)).mean()


def test_training_with_blobs_teaches_the_network_to_say_none_of_them(mnist):
    data = _small(mnist, 20_000)
    plain = robust.train_robust_cnn(data, TINY, TINY_RECIPE, seed=0, report=False)
    with_blobs = robust.train_robust_cnn(
        data, TINY, {**TINY_RECIPE, "no_digit_share": 0.1}, seed=0, report=False
    )
    unseen = robust.no_digit_blobs(300, [123, 456])

    def surest(model, images):
        return float(np.max(softmax(model(images).numpy(), axis=1), axis=1).mean())

    assert surest(with_blobs, unseen) < 0.3 < surest(plain, unseen)
    images, cls = mnist.test.images[:1000], mnist.test.cls[:1000]

    def reads(model):
        return np.mean(mv.predict_classes(model, images) == cls)

    assert reads(with_blobs) > reads(plain) - 0.05  # digits are read about as well


@pytest.mark.parametrize("share", [-0.1, 1.0])
def test_a_no_digit_share_outside_0_to_1_is_a_clear_error(share):
    with pytest.raises(ValueError, match=r"no_digit_share must be in \[0, 1\), got"):
        robust.check_robust_recipe({**robust.ROBUST_RECIPE, "no_digit_share": share})
    with pytest.raises(ValueError, match="optionally"):
        robust.check_robust_recipe({**robust.ROBUST_RECIPE, "blobs": 0.1})


@pytest.mark.parametrize(
    "share, error, fragment",
    [
        (-0.1, ValueError, r"in \[0, 1\), got -0.1"),
        ("0.1", TypeError, r"got '0.1' \(str\)"),
        (True, TypeError, "got True"),
        (0.001, ValueError, "gives no blob in a batch of 128; use 0 or at least 0.00781"),
    ],
)
def test_a_bad_no_digit_share_for_the_trainer_is_a_clear_error(mnist, share, error, fragment):
    model = mv.build_cnn(**TINY)
    with pytest.raises(error, match=fragment):
        robust.AdversarialTrainer(model, mnist.train, no_digit_share=share, batch_size=128)


def test_a_non_number_no_digit_share_in_a_recipe_is_a_clear_error():
    with pytest.raises(TypeError, match=r"no_digit_share must be a number in \[0, 1\), got None"):
        robust.check_robust_recipe({**robust.ROBUST_RECIPE, "no_digit_share": None})


def test_blob_count_and_ink_threshold_are_checked():
    with pytest.raises(ValueError, match="count must be"):
        robust.no_digit_blobs(0, [1, 2])
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\)"):
        robust.ink_added(np.zeros((1, 28, 28)), np.zeros((1, 28, 28)), threshold=1.0)
