"""The students' explorer, exercised without a browser (tests/test_browser.py
presses the same buttons in JupyterLab)."""

import base64
import io

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from mnist_viz import explorer


def test_layer_choices_name_every_layer_once(trained_model):
    assert explorer.layer_choices(trained_model) == [
        "layer_conv1",
        "layer_conv2",
        "layer_fc1",
        "logits",
    ]


def test_explore_feature_plots_the_image_and_a_rising_curve(trained_model):
    fig = explorer.explore_feature(trained_model, "logits", 3, steps=30, tv=0.01, l1=0.01)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (28, 28) and 0 <= image.min() and image.max() <= 1
    curve = fig.axes[1].lines[0].get_ydata()
    assert len(curve) == 30 and curve[-1] > curve[0]
    assert fig.axes[0].get_title() == "logits, feature 3"


def _widgets(panel):
    """Every widget inside the panel, depth first."""
    yield panel
    for child in getattr(panel, "children", ()):
        yield from _widgets(child)


def _parts(panel):
    found = list(_widgets(panel))
    controls = {
        w.description: w for w in found if hasattr(w, "value") and getattr(w, "description", "")
    }
    run = next(w for w in found if type(w).__name__ == "Button" and w.description == "Run")
    output = next(w for w in found if type(w).__name__ == "Output")
    return controls, run, output


def _shown(output):
    """What the panel's output area shows: its text and its PNG images as arrays."""
    text, images = "", []
    for item in output.outputs:
        text += item.get("text", "")
        png = item.get("data", {}).get("image/png")
        if png is not None:
            raw = png if isinstance(png, bytes) else base64.b64decode(png)
            images.append(np.asarray(Image.open(io.BytesIO(raw)).convert("L")))
    return text, images


def test_explorer_follows_the_layer(trained_model):
    controls, _, _ = _parts(explorer.explorer(trained_model))
    controls["layer"].value = "layer_conv2"
    assert controls["feature"].max == 35
    assert np.isclose(controls["TV"].value, 3e-4)
    controls["layer"].value = "logits"
    assert controls["feature"].max == 9


def test_pressing_run_shows_a_captioned_image_in_the_panel(trained_model):
    controls, run, output = _parts(explorer.explorer(trained_model))
    controls["feature"].value, controls["steps"].value = 4, 20
    run.click()
    text, images = _shown(output)
    assert text.strip() == "logits, feature 4"
    assert len(images) == 1 and images[0].std() > 10  # a drawn figure, not a blank one
    controls["layer"].value, controls["feature"].value = "layer_conv1", 2
    run.click()
    text, again = _shown(output)
    assert text.strip() == "layer_conv1, feature 2" and len(again) == 1
    assert not np.array_equal(images[0], again[0])
    assert run.description == "Run" and not run.disabled


def test_an_error_in_the_panel_is_one_line_and_replaces_the_image(trained_model, monkeypatch):
    controls, run, output = _parts(explorer.explorer(trained_model))
    controls["steps"].value = 10
    run.click()

    def broken(*args, **kwargs):
        raise ValueError("feature 99 does not exist\nsecond line of detail")

    monkeypatch.setattr(explorer, "explore_feature", broken)
    run.click()
    text, images = _shown(output)
    assert text == "ValueError: feature 99 does not exist\n" and images == []
    assert run.description == "Run" and not run.disabled


def test_error_line_reads_as_one_line():
    assert explorer.error_line(KeyError()) == "KeyError"
    assert explorer.error_line(RuntimeError("a\nb")) == "RuntimeError: a"


def test_a_page_without_a_kernel_says_where_the_explorer_runs(trained_model):
    bundle = explorer.explorer(trained_model)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/html"] == explorer.STATIC_EXPLORER
    assert "open this notebook in Jupyter" in bundle["text/html"]
