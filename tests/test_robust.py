"""Adversarial examples and adversarial training, on tiny models and small data."""

import numpy as np
import pytest
from scipy.special import softmax

import mnist_viz as mv
from mnist_viz import networks, robust
from mnist_viz.data import MNIST, Split

TINY = {"conv_filters": (4,), "fc_units": (16,), "kernel_size": 3}
# The robust recipe's training (batch 128, learning rate 5e-3 along a cosine),
# one epoch at epsilon 0.2, on a tiny network.
TINY_ROBUST = networks.RECIPES["robust"].replace(
    name="tiny robust",
    description="a tiny network, adversarially trained for one epoch",
    **TINY,
    adversarial=mv.Adversarial(epsilon=0.2, epochs=1),
)
# The same tiny network, plainly trained for as many steps (fast recipe).
TINY_STANDARD = networks.RECIPES["fast"].replace(
    name="tiny standard", description="a tiny network, plainly trained", **TINY, iterations=157
)


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
    assert TINY_ROBUST.steps(len(data.train)) == TINY_STANDARD.steps(len(data.train)) == 157
    standard = networks.train(TINY_STANDARD, data, report=False)
    robust_model = networks.train(TINY_ROBUST, data, report=False)
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
    three_epochs = TINY_ROBUST.replace(adversarial=mv.Adversarial(epsilon=0.2, epochs=3))
    model = networks.train(three_epochs, _small(mnist, 1280), report=False)
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


def test_a_broken_robust_cache_is_retrained_and_replaced(
    mnist, tmp_path, monkeypatch, capsys, trained_model
):
    monkeypatch.setenv("MNIST_VIZ_CACHE", str(tmp_path))
    path = mv.network_path("robust")
    assert path.parent == tmp_path
    path.write_bytes(b"not a model")
    recipes = []

    def stand_in(recipe, data, report=True):
        recipes.append(recipe)
        return trained_model

    monkeypatch.setattr(networks, "train", stand_in)
    assert mv.get_network("robust", mnist) is trained_model
    assert recipes == [mv.RECIPES["robust"]]  # the robust recipe, not another
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"{path.name} is unreadable" in lines[0]
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
    plain = networks.train(TINY_ROBUST, data, report=False)
    with_blobs = networks.train(
        TINY_ROBUST.replace(adversarial=mv.Adversarial(epsilon=0.2, epochs=1, no_digit_share=0.1)),
        data,
        report=False,
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
        mv.Adversarial(epsilon=0.3, epochs=3, no_digit_share=share)
    with pytest.raises(TypeError, match="blobs"):  # no such setting
        mv.Adversarial(epsilon=0.3, epochs=3, blobs=0.1)


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
        mv.Adversarial(epsilon=0.3, epochs=3, no_digit_share=None)


@pytest.mark.parametrize(
    "settings, error, fragment",
    [
        ({"epsilon": 0}, ValueError, "epsilon must be a finite number > 0"),
        ({"epsilon": 1.5}, ValueError, r"epsilon must be in \(0, 1\]"),
        ({"epochs": 0}, ValueError, "epochs must be >= 1"),
        ({"epochs": 2.5}, TypeError, "epochs"),
        ({"step_ratio": 0}, ValueError, "step_ratio"),
        ({"ramp_epochs": -0.1}, ValueError, r"ramp_epochs must be in \[0, epochs\]"),
        ({"ramp_epochs": 4}, ValueError, r"ramp_epochs must be in \[0, epochs\]"),
    ],
)
def test_a_bad_adversarial_setting_is_a_clear_error(settings, error, fragment):
    with pytest.raises(error, match=fragment):
        mv.Adversarial(**{"epsilon": 0.3, "epochs": 3, **settings})


def test_an_adversarial_recipe_trains_for_its_epochs_not_for_iterations():
    with pytest.raises(ValueError, match="not both or neither"):
        TINY_ROBUST.replace(iterations=100)  # adversarial and iterations
    with pytest.raises(ValueError, match="not both or neither"):
        TINY_ROBUST.replace(adversarial=None)  # neither
    with pytest.raises(TypeError, match=r"adversarial must be an Adversarial\(...\)"):
        TINY_ROBUST.replace(adversarial={"epsilon": 0.3, "epochs": 3})
    assert TINY_ROBUST.replace(adversarial=mv.Adversarial(0.2, epochs=3)).steps(1000) == 3 * 8


def test_blob_count_is_checked():
    with pytest.raises(ValueError, match="count must be"):
        robust.no_digit_blobs(0, [1, 2])
