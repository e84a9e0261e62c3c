"""An interactive explorer for students: pick a layer, a feature and the priors'
strengths, press Run, and see the image that feature likes.

:func:`explore_feature` does the work and returns a figure, so it can be called
and tested without a browser; :func:`explorer` only wires it to ipywidgets and
shows its result (or its error, in one line) in the panel's output area.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure

from mnist_viz._checks import check_positive_int
from mnist_viz._tf import keras
from mnist_viz.ascent import regularized_settings, visualize
from mnist_viz.layers import (
    LOGITS,
    conv_layer_names,
    dense_layer_names,
    num_features,
    resolve_layer,
)
from mnist_viz.objectives import layer_objectives
from mnist_viz.plots import plot_ascent_result
from mnist_viz.starts import DEFAULT_SEED

STATIC_EXPLORER = (
    "<p><em>The explorer runs in a live notebook: open this notebook in Jupyter, run it, then "
    "pick a layer and a feature, set the priors' strengths and press <b>Run</b>.</em></p>"
)


def layer_choices(model: keras.Model) -> list[str]:
    """The layers a student can pick: conv and dense layers, the output as 'logits'."""
    return [*conv_layer_names(model), *dense_layer_names(model)[:-1], LOGITS]


def explore_feature(
    model: keras.Model,
    layer: str,
    feature: int,
    steps: int = 200,
    tv: float | None = None,
    l1: float | None = None,
    jitter: float | None = None,
    blur_every: int | None = None,
    seed: int = DEFAULT_SEED,
) -> Figure:
    """Optimise one feature with the layer's regularised settings, changed by any
    argument that is not None, and plot the image beside its objective curve.
    Only numbers change between presses, so the compiled ascent is reused."""
    settings = regularized_settings(model, layer)
    changes = {
        "steps": check_positive_int("steps", steps),
        "tv": tv,
        "l1": l1,
        "jitter": jitter,
        "blur_every": blur_every,
    }
    settings = settings.replace(**{k: v for k, v in changes.items() if v is not None})
    objectives = layer_objectives(model, layer, [feature], contrast=settings.contrast)
    result = visualize(model, objectives, settings, seed)
    return plot_ascent_result(
        result.images[0], result.objective[:, 0], f"{layer}, feature {feature}"
    )


def figure_png(fig: Figure) -> bytes:
    """The figure rendered as PNG bytes (what the panel shows)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def with_page_view(panel, page_html: str):
    """``panel`` with ``page_html`` as its rendering where no kernel runs it (a book
    page, an HTML export): Jupyter shows the live widget, a static page the HTML."""
    live_bundle = panel._repr_mimebundle_

    def bundle(**kwargs):
        return {**live_bundle(**kwargs), "text/html": page_html}

    panel._repr_mimebundle_ = bundle
    return panel


def error_line(err: BaseException) -> str:
    """An exception as one readable line: its type and the first line of its message."""
    message = str(err).strip().splitlines()
    return f"{type(err).__name__}: {message[0]}" if message else type(err).__name__


def explorer(model: keras.Model):
    """An ipywidgets panel around :func:`explore_feature`.

    The controls sit above a Run button and an output area. Run replaces what
    the output shows with a caption (layer and feature) and the new image, or
    with the error in one line. The feature slider's range and the penalties
    follow the chosen layer.
    """
    import ipywidgets as widgets
    from IPython.display import Image

    controls = {
        "layer": widgets.Dropdown(
            options=layer_choices(model), value="logits", description="layer"
        ),
        "feature": widgets.IntSlider(value=0, min=0, max=9, description="feature"),
        "steps": widgets.IntSlider(value=200, min=10, max=400, step=10, description="steps"),
        "tv": widgets.FloatLogSlider(value=0.05, base=10, min=-5, max=0, description="TV"),
        "l1": widgets.FloatLogSlider(value=0.1, base=10, min=-5, max=0, description="L1"),
        "jitter": widgets.FloatSlider(value=2.0, min=0.0, max=4.0, step=0.5, description="jitter"),
        "blur_every": widgets.IntSlider(value=10, min=0, max=50, description="blur every"),
    }
    run = widgets.Button(
        description="Run",
        button_style="primary",
        tooltip="optimise the image for the chosen feature",
    )
    output = widgets.Output()

    def follow_layer(change):
        settings = regularized_settings(model, change["new"])
        controls["feature"].max = num_features(model, resolve_layer(model, change["new"])) - 1
        controls["tv"].value = max(settings.tv, 1e-5)
        controls["l1"].value = max(settings.l1, 1e-5)

    def show(_button=None):
        values = {name: control.value for name, control in controls.items()}
        run.disabled, run.description = True, "Running…"
        try:
            png = figure_png(explore_feature(model, **values))
        except Exception as err:  # shown to the student, not raised into the void
            output.outputs = ()
            output.append_stderr(error_line(err) + "\n")
        else:
            output.outputs = ()
            output.append_stdout(f"{values['layer']}, feature {values['feature']}\n")
            output.append_display_data(Image(data=png, format="png"))
        finally:
            run.disabled, run.description = False, "Run"

    controls["layer"].observe(follow_layer, names="value")
    run.on_click(show)
    return with_page_view(widgets.VBox([*controls.values(), run, output]), STATIC_EXPLORER)
