"""The features stage: gradient ascent on the input image."""

import numpy as np
import pytest

import mnist_viz as mv


def test_conv_layers_found_by_inspection(trained_model):
    assert mv.conv_layer_names(trained_model) == ["layer_conv1", "layer_conv2"]
    assert mv.conv_layer_names(mv.build_cnn(conv_filters=(4, 4, 4))) == [
        "layer_conv1",
        "layer_conv2",
        "layer_conv3",
    ]


def test_noise_images_start_near_grey():
    images = mv.noise_images(5, seed=0)
    assert images.shape == (5, 28, 28) and images.dtype == np.float32
    assert 0.45 <= images.min() and images.max() <= 0.55
    np.testing.assert_array_equal(images, mv.noise_images(5, seed=0))


@pytest.mark.parametrize("layer, feature", [(0, 3), ("layer_conv2", 5), (None, 7)])
def test_optimize_image_raises_the_objective(mnist, trained_model, layer, feature):
    start = mv.noise_images(1, seed=4)
    image = mv.optimize_image(
        trained_model, layer, feature, steps=20, show_progress=False, start=start
    )
    before = mv.feature_objective(trained_model, layer, feature, start)[0]
    after = mv.feature_objective(trained_model, layer, feature, image[None])[0]
    real = mv.feature_objective(trained_model, layer, feature, mnist.test.images[:1000])
    assert image.shape == (28, 28)
    assert after > before and after > real.max()  # beats every real digit too


def test_digit_ascent_makes_the_network_predict_it(trained_model):
    image = mv.optimize_image(trained_model, None, 2, steps=15, show_progress=False, seed=0)
    assert mv.predict_classes(trained_model, image[None])[0] == 2


@pytest.mark.parametrize("layer", [0, 1, None])
def test_batched_equals_sequential(trained_model, layer):
    start = mv.noise_images(10, seed=11)
    batched = mv.optimize_images(trained_model, layer, start=start)
    sequential = np.stack(
        [
            mv.optimize_image(trained_model, layer, f, show_progress=False, start=start[f])
            for f in range(10)
        ]
    )
    same = np.abs(batched - sequential).reshape(10, -1).max(axis=1) <= 1e-4
    # Under some CPU kernels one logit's 1/std steps meet a ReLU at its kink and part
    # ways; every other image agrees to rounding.
    assert same.sum() >= (9 if layer is None else 10), np.abs(batched - sequential).max()


def test_images_are_finite_and_in_range(trained_model):
    images = mv.optimize_images(trained_model, 1, features=range(36), steps=10, seed=0)
    assert images.shape == (36, 28, 28)
    assert np.isfinite(images).all() and images.min() >= 0.0 and images.max() <= 1.0


def test_progress_lines(trained_model, capsys):
    mv.optimize_image(trained_model, None, 2, steps=3, seed=0)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    for i, line in enumerate(lines):
        assert line.startswith(f"Iteration {i:>3}: predicted ")
        assert "gradient min" in line and "step size" in line and "objective" in line


def test_history_records_each_iteration(trained_model):
    start = mv.noise_images(2, seed=1)
    _, history = mv.ascend(trained_model, None, [2, 5], start, steps=6)
    assert history.objective.shape == (6, 2)
    assert history.objective[-1, 0] > history.objective[0, 0]
    assert (history.grad_min <= history.grad_max).all() and (history.step > 0).all()


@pytest.mark.parametrize(
    "layer, error, text",
    [
        (2, ValueError, r"valid indices are 0..1"),
        (-1, ValueError, r"valid indices are 0..1"),
        (
            "layer_conv9",
            ValueError,
            r"valid names: \['layer_conv1', 'layer_conv2', 'layer_fc1', 'layer_fc_out'\]",
        ),
        (1.0, TypeError, "layer must be an index"),
    ],
)
def test_bad_layers_are_explained(trained_model, layer, error, text):
    with pytest.raises(error, match=text):
        mv.optimize_image(trained_model, layer, 0, show_progress=False)


@pytest.mark.parametrize(
    "layer, feature, text",
    [
        (0, 16, r"layer_conv1, which has 16 features: valid indices are 0..15"),
        (None, 10, r"valid indices are 0..9"),
        (1, -1, "feature must be >= 0"),
    ],
)
def test_bad_features_are_explained(trained_model, layer, feature, text):
    with pytest.raises(ValueError, match=text):
        mv.optimize_image(trained_model, layer, feature, show_progress=False)


@pytest.mark.parametrize("n", [0, -2])
def test_bad_iteration_counts(trained_model, n):
    with pytest.raises(ValueError, match="steps must be >= 1"):
        mv.optimize_images(trained_model, 0, steps=n)


def test_dense_layers_can_be_targeted(trained_model):
    assert mv.dense_layer_names(trained_model) == ["layer_fc1", "layer_fc_out"]
    start = mv.noise_images(1, seed=3)
    image = mv.optimize_image(
        trained_model, "layer_fc1", 7, steps=15, show_progress=False, start=start
    )
    assert (
        mv.feature_objective(trained_model, "layer_fc1", 7, image[None])[0]
        > mv.feature_objective(trained_model, "layer_fc1", 7, start)[0]
    )
    with pytest.raises(
        ValueError, match=r"layer_fc1, which has 128 features: valid indices are 0..127"
    ):
        mv.optimize_image(trained_model, "layer_fc1", 128, show_progress=False)


def test_ascent_without_history_gives_the_same_images(trained_model):
    start = mv.noise_images(3, seed=2)
    with_history, history = mv.ascend(trained_model, 1, [0, 1, 2], start, 10)
    without, none = mv.ascend(trained_model, 1, [0, 1, 2], start, 10, record=False)
    assert none is None and history.objective.shape == (10, 3)
    np.testing.assert_array_equal(with_history, without)
