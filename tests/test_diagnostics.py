"""Feature diagnostics, reproducible training for experiments, and the model cache."""

import numpy as np
import pytest

import mnist_viz as mv
from mnist_viz import diagnostics, networks
from mnist_viz._tf import keras


def test_correlation_matrix_handles_constant_rows():
    rows = np.array([[0, 1, 2, 3], [0, 2, 4, 6], [3, 2, 1, 0], [5, 5, 5, 5]], dtype=float)
    corr = diagnostics.correlation_matrix(rows)
    assert corr[0, 1] == pytest.approx(1.0) and corr[0, 2] == pytest.approx(-1.0)
    assert corr[3, 0] == 0.0 and corr[3, 3] == 1.0
    assert diagnostics.correlated_pairs(rows, threshold=0.9) == [(0, 1, 1.0)]


def test_dead_and_near_blank_thresholds():
    assert diagnostics.dead_features(np.array([0.0, 0.995, 1.0, 0.5])) == [1, 2]
    start = np.full((3, 28, 28), 0.5, dtype=np.float32)
    optimised = start.copy()
    optimised[1] = 1.0
    optimised[2, :5] = 0.6  # a tiny change: under 0.05 on average
    assert diagnostics.near_blank_features(optimised, start) == [0, 2]


def test_silent_fraction_finds_a_dead_filter(mnist):
    model = mv.build_cnn(conv_filters=(4, 4), seed=0)
    conv = model.get_layer("layer_conv1")
    kernel, bias = conv.get_weights()
    kernel[..., 2] = -np.abs(kernel[..., 2]) - 0.1  # negative on any non-negative image
    bias[2] = -1.0
    conv.set_weights([kernel, bias])
    silent = diagnostics.silent_fraction(model, 0, mnist.test.images[:300], batch_size=128)
    assert silent.shape == (4,)
    assert silent[2] == 1.0 and diagnostics.dead_features(silent) == [2]


def test_filter_vectors_one_row_per_feature(trained_model):
    assert diagnostics.filter_vectors(trained_model, 0).shape == (16, 25)
    assert diagnostics.filter_vectors(trained_model, "layer_fc1").shape == (128, 1764)


def test_restart_agreement_separates_groups():
    rng = np.random.default_rng(0)
    prototypes = rng.uniform(size=(2, 28, 28))
    images = np.concatenate([p + 0.1 * rng.normal(size=(5, 28, 28)) for p in prototypes])
    same, different = diagnostics.restart_agreement(images, [0] * 5 + [1] * 5)
    assert same > 0.8 and abs(different) < 0.2


def test_with_seed_shares_data_and_fixes_order(mnist):
    a, b = mnist.train.with_seed(3), mnist.train.with_seed(3)
    assert a.images is mnist.train.images
    np.testing.assert_array_equal(a.next_batch(32)[0], b.next_batch(32)[0])


def test_training_does_not_depend_on_earlier_training(mnist):
    recipe = mv.Recipe(
        "tiny",
        "a tiny network",
        conv_filters=(4, 8),
        batch_size=64,
        learning_rate=1e-3,
        schedule="constant",
        iterations=20,
        seed=5,
    )
    first = networks.train(recipe, mnist, report=False)
    mnist.train.next_batch(1000)  # disturb the shared split
    second = networks.train(recipe, mnist, report=False)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
    other_seed = networks.train(recipe.replace(seed=6), mnist, report=False)
    assert not np.array_equal(other_seed.get_weights()[0], first.get_weights()[0])


def test_silent_trainer_prints_nothing(mnist, capsys):
    mv.Trainer(mv.build_cnn(conv_filters=(2, 2)), mnist.train, report_every=None).optimize(3)
    assert capsys.readouterr().out == ""


def test_corrupted_cache_is_reported_and_replaced(tmp_path, mnist, capsys, monkeypatch):
    monkeypatch.setenv("MNIST_VIZ_CACHE", str(tmp_path))
    path = mv.network_path("standard")
    path.write_bytes(b"this is not a keras file")
    stand_in = mv.build_cnn(conv_filters=(2, 2), seed=0)
    trained = []

    def train(recipe, data, report=True):
        trained.append((recipe.name, data))
        return stand_in

    monkeypatch.setattr(networks, "train", train)
    model = mv.get_network("standard", mnist)
    assert trained == [("standard", mnist)]  # the tutorial's recipe, on the data given
    out = capsys.readouterr().err.strip().splitlines()
    assert len(out) == 1 and f"{path.name} is unreadable" in out[0] and "retraining" in out[0]
    assert model is stand_in
    reloaded = mv.load_model(path)  # the bad file was replaced by a valid one
    assert reloaded.count_params() == stand_in.count_params()


def test_saturated_share_counts_only_exact_bounds():
    images = np.full((2, 28, 28), 0.5, dtype=np.float32)
    assert diagnostics.saturated_share(images) == 0.0
    images[0] = 1.0
    images[1, :14] = 0.0
    images[1, 14:] = 0.999
    assert diagnostics.saturated_share(images) == 0.75


def test_pinned_share_needs_the_gradient_to_point_outward():
    images = np.array([[0.0, 1.0, 0.5, 1.0]])
    assert diagnostics.pinned_share(images, np.array([[-1.0, 1.0, 1.0, -1.0]])) == 0.5
    assert diagnostics.pinned_share(images, -np.array([[-1.0, 1.0, 1.0, -1.0]])) == 0.25


def test_levels_off_rejects_a_curve_that_keeps_rising():
    flat_after_jump = np.r_[0.0, 40.0, 45.0, 48.0, 49.0, np.full(25, 50.0)]
    assert diagnostics.levels_off(flat_after_jump)
    assert not diagnostics.levels_off(np.arange(30.0))  # a steady climb
    assert not diagnostics.levels_off(np.zeros(30))  # never rose at all
    with pytest.raises(ValueError, match="more than"):
        diagnostics.levels_off(np.arange(10.0))


def test_flat_by_weight_sign_fails_on_the_wrong_colour_or_a_pattern():
    images = np.zeros((2, 28, 28))
    images[0] = 1.0
    sums = np.array([0.3, -0.2])
    assert diagnostics.flat_by_weight_sign(images, sums)
    assert not diagnostics.flat_by_weight_sign(images, -sums)
    images[1, 14, 14] = 1.0  # one dark pixel inside a white image
    assert not diagnostics.flat_by_weight_sign(images, sums)
    images[1, 14, 14] = 0.0
    images[1, 1, 1] = 1.0  # the border is not judged
    assert diagnostics.flat_by_weight_sign(images, sums)


def test_six_identical_constant_images_are_all_near_duplicates():
    # A correlation gives a constant image r = 0 with everything; the mean absolute
    # difference must still flag the six identical black images (15 pairs).
    images = np.ones((6, 28, 28))
    pairs = diagnostics.near_duplicate_pairs(images)
    assert [(i, j) for i, j, _ in pairs] == [(i, j) for i in range(6) for j in range(i + 1, 6)]
    different = np.stack([np.zeros((28, 28)), np.ones((28, 28))])
    assert diagnostics.near_duplicate_pairs(different) == []
    nearly = different.copy()
    nearly[1, :1, :] = 0.0  # one row of 28 differs from an all-black image: 28/784 = 0.036
    assert diagnostics.near_duplicate_pairs(np.stack([np.ones((28, 28)), nearly[1]])) != []
    assert (
        diagnostics.near_duplicate_pairs(np.stack([np.ones((28, 28)), nearly[1]]), tolerance=0.03)
        == []
    )


def test_silencing_features_costs_what_zeroing_their_weights_costs(trained_model, mnist):
    images, labels = mnist.test.images[:1000], mnist.test.cls[:1000]
    drops = diagnostics.silenced_accuracy_drops(
        trained_model, "layer_conv2", images, labels, groups=[[], [3], list(range(36))]
    )
    assert drops[0] == 0.0
    assert drops[2] > 0.5  # nothing reaches the dense layers: near chance
    # Independently: a copy whose filter 3 has zero weights and bias (ReLU(0) = 0).
    copy = keras.models.clone_model(trained_model)
    copy.set_weights(trained_model.get_weights())
    conv2 = copy.get_layer("layer_conv2")
    kernel, bias = conv2.kernel.numpy(), conv2.bias.numpy()
    kernel[..., 3], bias[3] = 0.0, 0.0
    conv2.kernel.assign(kernel)
    conv2.bias.assign(bias)
    before = np.mean(mv.predict_classes(trained_model, images) == labels)
    after = np.mean(mv.predict_classes(copy, images) == labels)
    assert drops[1] == pytest.approx(before - after, abs=1e-9)
    with pytest.raises(ValueError, match="from 0 to 35"):
        diagnostics.silenced_accuracy_drops(trained_model, "layer_conv2", images, labels, [[36]])


def test_agreement_across_starts_tells_whether_the_start_decides():
    rng = np.random.default_rng(0)
    patterns = rng.random((2, 28, 28))  # one pattern per digit
    groups, starts = np.repeat([0, 1], 4), np.tile([0, 0, 1, 1], 2)
    # Every restart of a digit ends on its digit's pattern, whatever the start.
    same_end = patterns[groups] + 0.05 * rng.random((8, 28, 28))
    within, across, different = diagnostics.agreement_across_starts(same_end, groups, starts)
    assert within > 0.9 and across > 0.9 and abs(different) < 0.3
    # Each kind of start leads somewhere else: agreement only within a kind.
    ends = rng.random((2, 2, 28, 28))  # digit x kind of start
    start_decides = ends[groups, starts] + 0.05 * rng.random((8, 28, 28))
    within, across, _ = diagnostics.agreement_across_starts(start_decides, groups, starts)
    assert within > 0.9 and abs(across) < 0.3
    with pytest.raises(ValueError, match="one entry per image"):
        diagnostics.agreement_across_starts(same_end, groups[:3], starts)


def test_an_experiment_network_is_trained_once_then_loaded(mnist, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_VIZ_CACHE", str(tmp_path))
    recipe = mv.Recipe(
        "tiny experiment",
        "a tiny network",
        conv_filters=(2, 4),
        fc_units=(8,),
        batch_size=32,
        learning_rate=1e-3,
        iterations=5,
    )
    first = mv.get_network(recipe, mnist, seed=3, report=False)
    assert "No cached model" in capsys.readouterr().err
    again = mv.get_network(recipe, mnist, seed=3, report=False)
    assert capsys.readouterr().err == ""  # loaded, not trained
    assert again is not first
    for saved, loaded in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(saved, loaded)
    other_seed = mv.get_network(recipe, mnist, seed=4, report=False)
    assert "No cached model" in capsys.readouterr().err
    assert not np.array_equal(other_seed.get_weights()[0], first.get_weights()[0])
    assert len(list(tmp_path.glob("tiny_experiment-*.keras"))) == 2


def test_a_difference_counts_only_beyond_twice_the_larger_spread():
    assert diagnostics.mean_and_sd([0.99, 0.98, 0.97]) == pytest.approx((0.98, 0.008165), abs=1e-6)
    steady, better = [0.990, 0.991, 0.989], [0.994, 0.995, 0.993]
    assert diagnostics.differ_beyond_noise(steady, better)
    noisy = [0.985, 0.995, 0.990]  # same mean as steady, wide spread
    assert not diagnostics.differ_beyond_noise(noisy, [0.994, 0.995, 0.993])
    assert not diagnostics.differ_beyond_noise(steady, steady)
    with pytest.raises(ValueError, match="at least two"):
        diagnostics.differ_beyond_noise([0.99], [0.98, 0.97])


def test_the_seed_table_claims_a_difference_only_beyond_noise():
    table = diagnostics.seed_table(
        {
            "small": [0.980, 0.982, 0.981],
            "wide": [0.986, 0.998, 0.992],
            "base": [0.990, 0.991, 0.989],
            "big": [0.994, 0.995, 0.993],
        },
        baseline="base",
        parameters={"small": 1000, "wide": 2000, "base": 3000, "big": 40000},
    )
    rows = {line.split(" | ")[0].strip("| "): line for line in table.splitlines()[2:]}
    assert "mean ± sd over 3 seeds" in table.splitlines()[0]
    assert rows["small"].endswith("| yes, lower |") and "98.10% ± 0.08%" in rows["small"]
    assert rows["wide"].endswith("| no |")  # a mean above the baseline's, inside the noise
    assert rows["big"].endswith("| yes, higher |") and "40,000" in rows["big"]
    assert rows["base"].endswith("| (the baseline) |")
    with pytest.raises(ValueError, match="baseline 'none' is not a row"):
        diagnostics.seed_table({"base": [0.99, 0.98]}, baseline="none")
