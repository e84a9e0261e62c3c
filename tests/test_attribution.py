"""Attribution maps: shapes, completeness, exactness of the shortcuts, and the
sanity-check measures, each fed an input on which it must fail."""

import numpy as np
import pytest

from mnist_viz import attribution
from mnist_viz._tf import keras, tf


@pytest.fixture(scope="module")
def digits(mnist):
    return mnist.test.images[:40], mnist.test.cls[:40]


@pytest.mark.parametrize("method", attribution.METHODS)
def test_every_method_gives_one_finite_map_per_image(trained_model, digits, method):
    images, cls = digits
    maps = attribution.attribute(trained_model, images[:6], cls[:6], method)
    assert maps.shape == (6, 28, 28) and maps.dtype == np.float32
    assert np.isfinite(maps).all() and np.abs(maps).max() > 0


def test_saliency_is_the_absolute_gradient_of_the_target_logit(trained_model, digits):
    images, cls = digits
    image = tf.constant(images[:3])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(image)
        logits = tf.gather(trained_model(image), cls[:3], batch_dims=1)
    expected = np.abs(tape.gradient(logits, image).numpy()).reshape(3, 28, 28)
    np.testing.assert_allclose(
        attribution.saliency(trained_model, images[:3], cls[:3]), expected, atol=1e-6
    )
    np.testing.assert_allclose(
        attribution.gradient_input(trained_model, images[:3], cls[:3]),
        tape.gradient(logits, image).numpy().reshape(3, 28, 28) * images[:3].reshape(3, 28, 28),
        atol=1e-6,
    )


def test_integrated_gradients_add_up_to_the_logit_difference(trained_model, mnist):
    """Completeness with a blank baseline and the default 32 steps, for >= 95% of
    1,000 test digits: |sum - (logit(x) - logit(blank))| <= 1% of it + 0.01."""
    images, cls = mnist.test.images[:1000], mnist.test.cls[:1000]
    maps = attribution.integrated_gradients(trained_model, images, cls)
    difference = attribution.target_logits(trained_model, images, cls) - attribution.target_logits(
        trained_model, np.zeros_like(images), cls
    )
    error = np.abs(maps.reshape(len(images), -1).sum(axis=1) - difference)
    assert np.mean(error <= 0.01 * np.abs(difference) + 0.01) >= 0.95
    # Two steps are too few: the same test must fail, or it measures nothing.
    coarse = attribution.integrated_gradients(trained_model, images[:200], cls[:200], steps=2)
    coarse_error = np.abs(coarse.reshape(200, -1).sum(axis=1) - difference[:200])
    assert np.mean(coarse_error <= 0.01 * np.abs(difference[:200]) + 0.01) < 0.95


def test_integrated_gradients_from_the_image_itself_are_zero(trained_model, digits):
    images, cls = digits
    maps = attribution.integrated_gradients(
        trained_model, images[:2], cls[:2], baseline=images[:2], steps=4
    )
    assert np.abs(maps).max() == 0
    with pytest.raises(ValueError, match="one per image"):
        attribution.integrated_gradients(trained_model, images[:3], cls[:3], baseline=images[:2])


def test_occlusion_skips_only_squares_that_change_nothing(trained_model):
    """A blank square changes nothing: the shortcut that skips them gives the
    map that evaluating every square gives."""
    image = np.zeros((1, 28, 28), np.float32)
    image[0, 10:18, 12:15] = 0.3  # one short bar of faint ink
    cls = np.array([1])
    maps = attribution.occlusion(trained_model, image, cls)
    base = attribution.target_logits(trained_model, image, cls)[0]
    drops = np.zeros((25, 25), np.float32)
    for y in range(25):
        for x in range(25):
            occluded = image.copy()
            occluded[0, y : y + 4, x : x + 4] = 0
            drops[y, x] = base - attribution.target_logits(trained_model, occluded, cls)[0]
    expected = np.zeros((28, 28), np.float32)
    covered = np.zeros((28, 28), np.float32)
    for dy in range(4):
        for dx in range(4):
            expected[dy : dy + 25, dx : dx + 25] += drops
            covered[dy : dy + 25, dx : dx + 25] += 1
    np.testing.assert_allclose(maps[0], expected / covered, atol=1e-5)
    far = np.ones((28, 28), bool)
    far[7:21, 9:18] = False  # every square covering these pixels is blank
    assert np.abs(maps[0][far]).max() == 0 and np.abs(maps[0][~far]).max() > 0


def _one_hot_toy():
    """conv1 = the image (channel 0) and its negative (channel 1); the logit of
    class 0 is the mean of channel 0 after the ReLU, of class 1 the mean of channel 1."""
    x = keras.Input(shape=(784,))
    net = keras.layers.Reshape((28, 28, 1))(x)
    conv = keras.layers.Conv2D(2, 1, name="layer_conv1")
    net = keras.layers.ReLU(name="layer_conv1_relu")(conv(net))
    net = keras.layers.GlobalAveragePooling2D()(net)
    out = keras.layers.Dense(10, name="layer_fc_out")
    model = keras.Model(x, out(net))
    conv.set_weights([np.array([1.0, -1.0], np.float32).reshape(1, 1, 1, 2), np.zeros(2)])
    weights = np.zeros((2, 10), np.float32)
    weights[0, 0] = weights[1, 1] = 1.0
    out.set_weights([weights, np.zeros(10)])
    return model


def test_gradcam_on_a_one_hot_toy_model_is_the_feature_map():
    model = _one_hot_toy()
    image = np.zeros((1, 784), np.float32)
    image[0, 14 * 28 + 5] = 1.0  # one ink pixel at row 14, column 5
    cam = attribution.gradcam(model, np.repeat(image, 2, axis=0), [0, 1])
    assert np.unravel_index(np.argmax(cam[0]), (28, 28)) == (14, 5)
    np.testing.assert_allclose(
        attribution.normalize_maps(cam[:1])[0], image.reshape(28, 28), atol=1e-6
    )
    assert np.abs(cam[1]).max() == 0  # channel 1 is silent on ink: nothing to show


def test_gradcam_weights_each_feature_map_by_its_mean_gradient(trained_model, digits):
    images, cls = digits
    probe = keras.Model(
        trained_model.inputs[0],
        [trained_model.get_layer("layer_conv1_relu").output, trained_model.output],
    )
    image = tf.constant(images[:2])
    with tf.GradientTape() as tape:
        feature_maps, logits = probe(image)
        chosen = tf.gather(logits, cls[:2], batch_dims=1)
    weights = tf.reduce_mean(tape.gradient(chosen, feature_maps), axis=[1, 2])
    expected = np.maximum(np.einsum("nyxk,nk->nyx", feature_maps.numpy(), weights.numpy()), 0)
    np.testing.assert_allclose(
        attribution.gradcam(trained_model, images[:2], cls[:2], layer=0),
        expected,
        rtol=1e-4,
        atol=1e-6,
    )


def test_gradcam_refuses_a_dense_layer(trained_model, digits):
    images, cls = digits
    with pytest.raises(ValueError, match="dense layer"):
        attribution.gradcam(trained_model, images[:2], cls[:2], layer="layer_fc1")
    assert attribution.gradcam_layer(trained_model) == "layer_conv2"
    assert attribution.gradcam_layer(trained_model, 0) == "layer_conv1"


def test_bad_method_and_bad_targets_are_clear_errors(trained_model, digits):
    images, cls = digits
    with pytest.raises(ValueError, match="unknown attribution method 'lime'"):
        attribution.attribute(trained_model, images[:2], cls[:2], "lime")
    with pytest.raises(ValueError):
        attribution.saliency(trained_model, images[:2], [3, 10])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        attribution.saliency(trained_model, images[:2] * 255, cls[:2])


def test_normalize_maps_keeps_all_zero_maps_zero():
    maps = np.zeros((3, 28, 28), np.float32)
    maps[1, 3, 4] = -2.0
    maps[2] = 0.5
    normalized = attribution.normalize_maps(maps)
    assert np.isfinite(normalized).all()
    assert normalized[0].max() == 0 and normalized[1, 3, 4] == 1.0 and normalized[2].min() == 1.0


def test_rank_correlation_tells_same_from_reversed_and_constant():
    rng = np.random.default_rng(0)
    maps = rng.random((2, 28, 28))
    np.testing.assert_allclose(attribution.rank_correlation(maps, maps * 3), [1.0, 1.0])
    np.testing.assert_allclose(attribution.rank_correlation(maps, 1 - maps), [-1.0, -1.0])
    assert np.all(attribution.rank_correlation(maps, np.zeros_like(maps)) == 0)


def test_rank_correlation_on_the_ink_ignores_the_tied_blank_pixels():
    # Two maps that are zero off the ink (like gradient x input) and reversed on it:
    # over all 784 pixels the shared zeros make them look alike; on the ink they are opposite.
    rng = np.random.default_rng(1)
    ink = np.zeros((3, 28, 28), bool)
    ink[:, 10:18, 12:16] = True
    values = rng.random((3, 28, 28))
    first, second = np.where(ink, values, 0), np.where(ink, 1 - values, 0)
    assert np.all(attribution.rank_correlation(first, second) > 0.5)
    np.testing.assert_allclose(attribution.rank_correlation(first, second, mask=ink), -1.0)
    np.testing.assert_allclose(attribution.rank_correlation(first, first * 2, mask=ink), 1.0)


def test_share_near_ink_tells_a_map_on_the_stroke_from_one_on_blank_paper():
    image = np.zeros((1, 28, 28), np.float32)
    image[0, 5:20, 14] = 1.0  # a vertical stroke
    on_stroke = image.copy()
    beside = np.roll(image, 1, axis=2)  # one pixel to the right: still "next to" the ink
    far = np.zeros_like(image)
    far[0, 0, 0] = 1.0
    assert attribution.share_near_ink(on_stroke, image)[0] == 1.0
    assert attribution.share_near_ink(beside, image)[0] == 1.0
    assert attribution.share_near_ink(beside, image, reach=0)[0] == 0.0
    assert attribution.share_near_ink(far, image)[0] == 0.0
    assert attribution.share_near_ink(np.zeros_like(image), image)[0] == 0.0


def test_randomized_copy_changes_only_the_named_layers(trained_model):
    layers = attribution.top_down_layers(trained_model)
    assert layers == ["layer_fc_out", "layer_fc1", "layer_conv2", "layer_conv1"]
    before = [w.copy() for w in trained_model.get_weights()]
    copy = attribution.randomized_copy(trained_model, layers[:2], seed=3)
    for name in ["layer_conv1", "layer_conv2"]:
        for kept, trained in zip(
            copy.get_layer(name).get_weights(), trained_model.get_layer(name).get_weights()
        ):
            np.testing.assert_array_equal(kept, trained)
    for name in layers[:2]:
        assert not np.allclose(
            copy.get_layer(name).kernel.numpy(), trained_model.get_layer(name).kernel.numpy()
        )
    for original, now in zip(before, trained_model.get_weights()):
        np.testing.assert_array_equal(original, now)


def test_each_seed_of_randomized_copy_is_its_own_draw():
    # Two same-shaped layers: a seed-per-layer scheme like seed + index would hand seed 1's
    # first layer the kernel seed 0 gave its second one.
    toy = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(4, name="a"), keras.layers.Dense(4, name="b")]
    )
    kernels = {
        seed: [
            attribution.randomized_copy(toy, ["a", "b"], seed=seed).get_layer(name).kernel.numpy()
            for name in "ab"
        ]
        for seed in (0, 1)
    }
    for first in kernels[0]:
        for second in kernels[1]:
            assert not np.allclose(first, second)
    again = attribution.randomized_copy(toy, ["a", "b"], seed=0)
    np.testing.assert_array_equal(again.get_layer("a").kernel.numpy(), kernels[0][0])


def test_deletion_rewards_a_map_that_ranks_the_ink_first(trained_model, digits):
    images, cls = digits
    ink_first = images.reshape(-1, 28, 28)
    deletion, insertion = attribution.deletion_insertion(trained_model, images, cls, ink_first)
    wrong_deletion, wrong_insertion = attribution.deletion_insertion(
        trained_model, images, cls, 1.0 - ink_first
    )  # blank pixels first: uninformative
    assert deletion.mean() < wrong_deletion.mean() and insertion.mean() > wrong_insertion.mean()
    assert ((0 <= deletion) & (deletion <= 1)).all()
    with pytest.raises(ValueError, match="maps must match"):
        attribution.deletion_insertion(trained_model, images, cls, ink_first[:3])


@pytest.mark.parametrize("layer", ["layer_conv1", "layer_conv2"])
def test_top_examples_are_the_whole_receptive_field(trained_model, mnist, layer):
    """Zeroing everything outside the returned patch leaves the feature's strongest
    response unchanged: the patch holds every pixel that response depends on."""
    images = mnist.test.images[:50].reshape(-1, 28, 28)
    patches, responses = attribution.top_examples(trained_model, layer, images, 3, count=4)
    assert np.all(np.diff(responses) <= 0)
    stride, offset, size = attribution.RECEPTIVE_FIELDS[layer]
    assert patches.shape == (4, size, size)
    all_responses = attribution.feature_responses(trained_model, layer, images)[..., 3]
    best = all_responses.reshape(50, -1).max(axis=1)
    index = int(np.argmax(best))
    row, col = np.unravel_index(all_responses[index].argmax(), all_responses.shape[1:])
    top, left = stride * row - offset, stride * col - offset
    kept = np.zeros((28, 28), np.float32)
    y0, x0 = max(top, 0), max(left, 0)
    kept[y0 : top + size, x0 : left + size] = images[index, y0 : top + size, x0 : left + size]
    again = attribution.feature_responses(trained_model, layer, kept[None])[0, row, col, 3]
    np.testing.assert_allclose(again, responses[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        patches[0][y0 - top :, x0 - left :][: 28 - y0, : 28 - x0][
            : min(size, 28 - y0), : min(size, 28 - x0)
        ],
        kept[y0 : top + size, x0 : left + size],
        atol=0,
    )
    # A patch one pixel smaller is not enough for a border-to-border field:
    smaller = np.zeros((28, 28), np.float32)
    smaller[y0 + 1 : top + size, x0 : left + size] = images[
        index, y0 + 1 : top + size, x0 : left + size
    ]
    if images[index, y0, x0 : left + size].any():
        shrunk = attribution.feature_responses(trained_model, layer, smaller[None])[0, row, col, 3]
        assert not np.isclose(shrunk, responses[0], rtol=1e-5, atol=1e-5)


def test_top_examples_of_a_dense_unit_are_whole_digits(trained_model, mnist):
    images = mnist.test.images[:30]
    digits, responses = attribution.top_examples(trained_model, "layer_fc1", images, 0, count=3)
    assert digits.shape == (3, 28, 28)
    every_response = attribution.feature_responses(trained_model, "layer_fc1", images)[:, 0]
    expected = np.sort(every_response)[::-1][:3]
    np.testing.assert_allclose(responses, expected)
