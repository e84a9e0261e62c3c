"""You be the judge: read generated digits blind, then compare with the judges.

:func:`quiz_sheet` shuffles the images of several methods into one unlabelled
sheet; :func:`reading_rates` scores a student's answers, method by method, beside
each judge's reading of the same images; :func:`you_be_the_judge` wires both to ipywidgets (a
box under every image, a Score button, the table). An answer is a digit; a blank
or ``?`` counts as unread.
"""

from __future__ import annotations

import base64
import dataclasses
import html
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from mnist_viz.data import check_classes, check_images, img_size_flat
from mnist_viz.starts import DEFAULT_SEED


@dataclasses.dataclass(frozen=True)
class Sheet:
    """Shuffled images: ``method[i]`` made ``images[i]`` as the digit ``intended[i]``."""

    images: np.ndarray
    method: np.ndarray
    intended: np.ndarray

    @property
    def methods(self) -> list[str]:
        """The methods, in the order they were given."""
        return list(dict.fromkeys(self.method.tolist()))


def quiz_sheet(sets: Mapping[str, tuple], seed: int | None = DEFAULT_SEED) -> Sheet:
    """One sheet from ``sets[method] = (images, intended digits)``, shuffled by ``seed``."""
    if not sets:
        raise ValueError("sets is empty; give at least one method's (images, digits).")
    images, method, intended = [], [], []
    for name, (drawn, digits) in sets.items():
        drawn = check_images(f"sets[{name!r}] images", drawn)
        images.append(drawn)
        intended.append(check_classes(f"sets[{name!r}] digits", digits, len(drawn)))
        method += [name] * len(drawn)
    order = np.random.default_rng(seed).permutation(len(method))
    return Sheet(
        np.concatenate(images)[order], np.array(method)[order], np.concatenate(intended)[order]
    )


def parse_answer(text: str) -> int | None:
    """A digit 0-9, or None for a blank or ``?`` (unread)."""
    text = text.strip()
    if text in ("", "?"):
        return None
    if len(text) == 1 and text.isdigit():
        return int(text)
    raise ValueError(
        f"answer {text!r}: type one digit 0-9, or ? (or nothing) if you cannot read it."
    )


def reading_rates(sheet: Sheet, answers: Sequence[str], judges: Mapping[str, Callable]) -> dict:
    """Per method, the share of its images read as intended: ``"you"`` from the
    ``answers`` (one per image), and each judge's from its reading of the images."""
    if len(answers) != len(sheet.method):
        raise ValueError(
            f"give one answer per image: {len(sheet.method)} images, {len(answers)} answers."
        )
    yours = np.array([-1 if (a := parse_answer(text)) is None else a for text in answers])
    readers = {
        "you": yours,
        **{
            name: np.asarray(read(sheet.images.reshape(-1, img_size_flat)))
            for name, read in judges.items()
        },
    }
    masks = {method: sheet.method == method for method in sheet.methods}
    return {
        method: {
            reader: float(np.mean(reads[mask] == sheet.intended[mask]))
            for reader, reads in readers.items()
        }
        for method, mask in masks.items()
    }


def rates_table(rates: dict) -> str:
    """An HTML table: one row per method, one column per reader (you first)."""
    readers = list(next(iter(rates.values())))
    head = "".join(f"<th>{html.escape(r if r == 'you' else r + ' judge')}</th>" for r in readers)
    rows = "".join(
        f"<tr><td>{html.escape(method)}</td>"
        + "".join(f"<td>{row[r]:.0%}</td>" for r in readers)
        + "</tr>"
        for method, row in rates.items()
    )
    return f"<table class='quiz-rates'><tr><th>method</th>{head}</tr>{rows}</table>"


def you_be_the_judge(sheet: Sheet, judges: Mapping[str, Callable], columns: int = 10):
    """The sheet as an ipywidgets panel: each image with a box for what you read,
    then a Score button that shows your reading rate per method beside the judges'."""
    import ipywidgets as widgets

    from mnist_viz.explorer import error_line, with_page_view

    pngs = [_image_png(image) for image in sheet.images]  # drawn once, for both views
    boxes = [widgets.Text(placeholder="?", layout=widgets.Layout(width="64px")) for _ in pngs]
    cards = [
        widgets.VBox(
            [
                widgets.HTML(f"<b>#{i + 1}</b>"),
                widgets.Image(value=png, format="png", width=64),
                box,
            ]
        )
        for i, (png, box) in enumerate(zip(pngs, boxes))
    ]
    grid = widgets.GridBox(
        cards, layout=widgets.Layout(grid_template_columns=f"repeat({columns}, 84px)")
    )
    score = widgets.Button(description="Score", button_style="primary")
    result = widgets.HTML()

    def show(_button=None):
        try:
            result.value = rates_table(reading_rates(sheet, [b.value for b in boxes], judges))
        except ValueError as err:
            result.value = f"<pre>{html.escape(error_line(err), quote=False)}</pre>"

    score.on_click(show)
    return with_page_view(widgets.VBox([grid, score, result]), _static_sheet(pngs, columns))


def _static_sheet(pngs: Sequence[bytes], columns: int) -> str:
    """The sheet's images (PNG) as HTML for a page without a kernel: numbered, to
    read on paper, and how to score them in a live notebook."""
    cells = [
        f"<td style='text-align:center'><b>#{i + 1}</b><br><img width='64' "
        f"alt='image {i + 1}' src='data:image/png;base64,{base64.b64encode(png).decode()}'></td>"
        for i, png in enumerate(pngs)
    ]
    rows = ["".join(cells[start : start + columns]) for start in range(0, len(cells), columns)]
    return (
        "<table class='quiz-sheet'><tr>" + "</tr><tr>".join(rows) + "</tr></table>"
        "<p><em>Write down what you read in each image (a digit, or ? where you read "
        "none). To score your reading beside the judges', run this notebook in Jupyter: a "
        "box under each image takes your answer and <b>Score</b> shows the rates.</em></p>"
    )


def _image_png(image: np.ndarray) -> bytes:
    """One image of the sheet as a small PNG."""
    from mnist_viz.explorer import figure_png
    from mnist_viz.plots import plot_image_grid

    return figure_png(plot_image_grid(image[None], 1, size=0.9))
