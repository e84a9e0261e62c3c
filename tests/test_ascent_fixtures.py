"""The reference ascent gives the images recorded by
tests/fixtures/make_ascent_fixtures.py (to 1e-5), so a rewrite of the engine
cannot change them unnoticed: with the speed tricks of mnist_viz._fast on (the
default) and with the straightforward code they stand in for."""

import sys
from pathlib import Path

import numpy as np
import pytest

import mnist_viz as mv
from mnist_viz import _fast

FIXTURES = Path(__file__).resolve().parent / "fixtures"
sys.path.insert(0, str(FIXTURES))
from make_ascent_fixtures import CASES, tiny_network  # noqa: E402

# The recording's own code differs from it by up to 2.3e-6 after 12 steps on a
# Zen 4 CPU (oneDNN picks other kernels there, which round differently), and the
# engine's faster first-layer input gradient by 2.1e-6 on the same CPU: 1e-5
# allows for that, while a real change (a halved step, say) moves pixels by 0.1.
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def recorded():
    with np.load(FIXTURES / "ascent_reference.npz") as saved:
        record = dict(saved)
    model = tiny_network()
    model.set_weights([record[f"weight_{i}"] for i in range(len(model.get_weights()))])
    return model, record


@pytest.fixture(params=["fast", "plain"])
def switch(request):
    """Each test once with the speed tricks on, once with them off."""
    if request.param == "fast":
        assert _fast.enabled()
        yield request.param
        return
    with _fast.disabled():
        assert not _fast.enabled()
        yield request.param


@pytest.mark.parametrize("layer", sorted(CASES))
def test_reference_ascent_matches_the_recording(recorded, layer, switch):
    model, record = recorded
    layer_id = None if layer == "logits" else layer
    features = CASES[layer]
    images, history = mv.ascend(model, layer_id, features, record[f"{layer}/start"], steps=12)
    np.testing.assert_allclose(images, record[f"{layer}/ascend"], atol=TOLERANCE)
    np.testing.assert_array_equal(history.predicted, record[f"{layer}/history/predicted"])
    for field in ("objective", "score", "grad_min", "grad_max", "step"):
        np.testing.assert_allclose(
            getattr(history, field),
            record[f"{layer}/history/{field}"],
            rtol=1e-5,
            atol=TOLERANCE,
            err_msg=field,
        )
    np.testing.assert_allclose(
        mv.optimize_images(model, layer_id, features=features, steps=12, seed=11),
        record[f"{layer}/optimize_images"],
        atol=TOLERANCE,
    )
    np.testing.assert_allclose(
        mv.optimize_image(
            model, layer_id, feature=features[0], steps=12, show_progress=False, seed=11
        ),
        record[f"{layer}/optimize_image"],
        atol=TOLERANCE,
    )


def _seed_faithful_loop(model, layer_name, feature, start, steps):
    """The reference tutorial's algorithm, one image, eager: the gradient of the
    feature's mean (or the logit) with respect to the pixels, divided by its
    standard deviation + 1e-8, added, and the pixels clipped to [0, 1]."""
    from mnist_viz._tf import keras, tf

    probe = keras.Model(model.inputs[0], model.get_layer(layer_name).output)
    image = tf.constant(start.reshape(1, 784))
    for _ in range(steps):
        with tf.GradientTape() as tape:
            tape.watch(image)
            output = probe(image)
            value = tf.reduce_mean(output[..., feature])
        grad = tape.gradient(value, image)
        image = tf.clip_by_value(image + grad / (tf.math.reduce_std(grad) + 1e-8), 0.0, 1.0)
    return image.numpy().reshape(28, 28)


@pytest.mark.parametrize("layer", sorted(CASES))
def test_the_engine_matches_the_seed_faithful_one_image_loop(recorded, layer, switch):
    model, record = recorded
    layer_id = None if layer == "logits" else layer
    layer_name = "layer_fc_out" if layer == "logits" else layer
    feature, start = CASES[layer][0], record[f"{layer}/start"][0]
    ours = mv.optimize_image(model, layer_id, feature, steps=12, show_progress=False, start=start)
    np.testing.assert_allclose(
        ours, _seed_faithful_loop(model, layer_name, feature, start, 12), atol=1e-4
    )
