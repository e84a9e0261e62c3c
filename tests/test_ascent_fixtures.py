"""The reference ascent gives the images recorded by
tests/fixtures/make_ascent_fixtures.py (1e-6), so a rewrite of the engine
cannot change them unnoticed."""

import sys
from pathlib import Path

import numpy as np
import pytest

import mnist_viz as mv

FIXTURES = Path(__file__).resolve().parent / "fixtures"
sys.path.insert(0, str(FIXTURES))
from make_ascent_fixtures import CASES, tiny_network  # noqa: E402

TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def recorded():
    with np.load(FIXTURES / "ascent_reference.npz") as saved:
        record = dict(saved)
    model = tiny_network()
    model.set_weights([record[f"weight_{i}"] for i in range(len(model.get_weights()))])
    return model, record


@pytest.mark.parametrize("layer", sorted(CASES))
def test_reference_ascent_matches_the_recording(recorded, layer):
    model, record = recorded
    layer_id = None if layer == "logits" else layer
    features = CASES[layer]
    images, history = mv.ascend(model, layer_id, features, record[f"{layer}/start"],
                                steps=12)
    np.testing.assert_allclose(images, record[f"{layer}/ascend"], atol=TOLERANCE)
    np.testing.assert_array_equal(history.predicted, record[f"{layer}/history/predicted"])
    for field in ("objective", "score", "grad_min", "grad_max", "step"):
        np.testing.assert_allclose(getattr(history, field), record[f"{layer}/history/{field}"],
                                   rtol=1e-5, atol=TOLERANCE, err_msg=field)
    np.testing.assert_allclose(
        mv.optimize_images(model, layer_id, features=features, steps=12, seed=11),
        record[f"{layer}/optimize_images"], atol=TOLERANCE)
    np.testing.assert_allclose(
        mv.optimize_image(model, layer_id, feature=features[0], steps=12,
                          show_progress=False, seed=11),
        record[f"{layer}/optimize_image"], atol=TOLERANCE)
