"""The students' explorer, exercised without a browser."""

import numpy as np
from matplotlib.figure import Figure

from mnist_viz import explorer


def test_layer_choices_name_every_layer_once(trained_model):
    assert explorer.layer_choices(trained_model) == ["layer_conv1", "layer_conv2",
                                                     "layer_fc1", "logits"]


def test_explore_feature_plots_the_image_and_a_rising_curve(trained_model):
    fig = explorer.explore_feature(trained_model, "logits", 3, steps=30, tv=0.01, l1=0.01)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (28, 28) and 0 <= image.min() and image.max() <= 1
    curve = fig.axes[1].lines[0].get_ydata()
    assert len(curve) == 30 and curve[-1] > curve[0]
    assert fig.axes[0].get_title() == "logits, feature 3"


def test_explorer_widget_follows_the_layer_and_runs(trained_model):
    panel = explorer.explorer(trained_model)
    controls = {c.description: c for c in panel.children if hasattr(c, "description")}
    controls["layer"].value = "layer_conv2"
    assert controls["feature"].max == 35
    assert np.isclose(controls["TV"].value, 3e-4)
    controls["layer"].value = "logits"
    controls["feature"].value, controls["steps"].value = 4, 20
    panel.update()  # what the Run button does
    assert isinstance(panel.result, Figure)
    assert panel.result.axes[0].get_title() == "logits, feature 4"
