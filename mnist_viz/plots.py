"""From arrays to figures. Plots never compute or train anything.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot,
so nothing is drawn twice in a notebook and no figures pile up in memory.
A notebook shows a returned figure when it is the cell's last expression.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.animation import FuncAnimation, PillowWriter
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from sklearn.metrics import ConfusionMatrixDisplay

from mnist_viz._checks import check_positive_int
from mnist_viz._files import atomic_write
from mnist_viz.data import check_classes, check_images, img_shape, num_classes


def _bare(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def _grid_axes(count: int, ncols: int, titles, size: float, item: str) -> tuple[Figure, list]:
    """A figure with ``count`` bare axes in rows of ``ncols`` (room for titles
    when given); the grid's spare cells are switched off."""
    ncols = check_positive_int("ncols", ncols)
    if titles is not None and len(titles) != count:
        raise ValueError(
            f"titles must have one entry per {item}: {count} {item}s, {len(titles)} titles."
        )
    nrows = max(1, math.ceil(count / ncols))
    fig = Figure(figsize=(size * ncols, size * nrows + (0.25 * nrows if titles else 0)))
    axes = list(fig.subplots(nrows, ncols, squeeze=False).flat)
    for ax in axes:
        _bare(ax)
    for ax in axes[count:]:
        ax.axis("off")
    return fig, axes[:count]


def plot_image_grid(
    images,
    ncols: int,
    titles: Sequence[str] | None = None,
    smooth: bool = False,
    size: float = 1.4,
    rows: Sequence[str] | None = None,
) -> Figure:
    """Any number of 28x28 images in a grid of ``ncols`` columns, black on white;
    ``rows`` names each row at its left."""
    images = check_images("images", images)
    fig, axes = _grid_axes(len(images), ncols, titles, size, "image")
    for i, ax in enumerate(axes):
        ax.imshow(
            images[i],
            cmap="binary",
            vmin=0,
            vmax=1,
            interpolation="spline16" if smooth else "nearest",
        )
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    if rows is not None:
        _label_rows(axes, ncols, rows)
    fig.tight_layout()
    return fig


def _label_rows(axes: list, ncols: int, rows: Sequence[str]) -> None:
    """Each row's name, left of its first image, read horizontally."""
    first = axes[::ncols]
    if len(rows) != len(first):
        raise ValueError(
            f"rows must name each row of the grid: {len(first)} rows, {len(rows)} names."
        )
    for ax, name in zip(first, rows):
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)


def plot_arrays(
    arrays, ncols: int, titles: Sequence[str] | None = None, signed: bool = False, size: float = 1.2
) -> Figure:
    """Small 2-D arrays of one shape (patches, feature maps, filters) in a grid of
    ``ncols`` columns, pixel for pixel. Unsigned arrays are drawn black on white
    from 0 to their own largest value; ``signed`` ones red (negative) to blue
    (positive), symmetric around 0 (white)."""
    arrays = np.asarray(arrays, dtype=float)
    if arrays.ndim != 3 or not np.all(np.isfinite(arrays)):
        raise ValueError(
            f"arrays must be a finite stack of 2-D arrays (n, rows, cols), got "
            f"shape {arrays.shape}."
        )
    fig, axes = _grid_axes(len(arrays), ncols, titles, size, "array")
    for i, ax in enumerate(axes):
        peak = float(np.abs(arrays[i]).max()) or 1.0
        if signed:
            ax.imshow(arrays[i], cmap="RdBu", vmin=-peak, vmax=peak, interpolation="nearest")
        else:
            ax.imshow(arrays[i], cmap="binary", vmin=0, vmax=peak, interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    fig.tight_layout()
    if signed:  # what the colours mean, for every panel (each scaled to its own largest value)
        bar = fig.colorbar(
            ScalarMappable(Normalize(-1, 1), "RdBu"),
            ax=axes,
            ticks=[-1, 0, 1],
            shrink=0.8,
            pad=0.02,
        )
        bar.set_ticklabels(["most negative", "0", "most positive"])
    return fig


def plot_images(images, cls_true, cls_pred=None) -> Figure:
    """Nine images in a 3x3 grid, with the true (and predicted) class below each."""
    images = check_images("images", images, count=9)
    return _labelled_grid(
        images,
        check_classes("cls_true", cls_true, 9),
        None if cls_pred is None else check_classes("cls_pred", cls_pred, 9),
    )


def _labelled_grid(images: np.ndarray, cls_true, cls_pred) -> Figure:
    fig = Figure(figsize=(5, 5.6))
    axes = fig.subplots(3, 3)
    fig.subplots_adjust(hspace=0.4, wspace=0.3)
    for i, ax in enumerate(axes.flat):
        if i >= len(images):
            ax.axis("off")
            continue
        ax.imshow(images[i].reshape(img_shape), cmap="binary", vmin=0, vmax=1)
        label = f"True: {cls_true[i]}"
        if cls_pred is not None:
            label += f", Pred: {cls_pred[i]}"
        ax.set_xlabel(label)
        _bare(ax)
    return fig


def plot_images10(images, smooth: bool = True, titles: Sequence[str] | None = None) -> Figure:
    """Ten images in a 2x5 grid; ``smooth`` interpolates, else pixels stay square."""
    images = check_images("images", images, count=10)
    return plot_image_grid(images, ncols=5, titles=titles, smooth=smooth, size=1.6)


def plot_image(image, smooth: bool = False) -> Figure:
    """One 28x28 image, large."""
    image = check_images(
        "image",
        np.reshape(image, (1, -1))
        if np.ndim(image) == 1
        else np.asarray(image)[None]
        if np.ndim(image) == 2
        else image,
        count=1,
    )[0]
    fig = Figure(figsize=(3, 3))
    ax = fig.subplots()
    ax.imshow(
        image, cmap="binary", vmin=0, vmax=1, interpolation="spline16" if smooth else "nearest"
    )
    _bare(ax)
    return fig


def plot_example_errors(images, cls_true, cls_pred) -> Figure:
    """The first nine misclassified images, with true and predicted classes."""
    images = check_images("images", images)
    cls_true = check_classes("cls_true", cls_true, len(images))
    cls_pred = check_classes("cls_pred", cls_pred, len(images))
    wrong = np.flatnonzero(cls_true != cls_pred)[:9]
    if len(wrong) == 0:
        raise ValueError("no image is misclassified, so there are no errors to show.")
    return _labelled_grid(images[wrong], cls_true[wrong], cls_pred[wrong])


def plot_confusion_matrix(cls_true, cls_pred) -> Figure:
    """The confusion matrix (counted and drawn by scikit-learn), true class by row."""
    cls_true = check_classes("cls_true", cls_true, len(np.asarray(cls_true)))
    cls_pred = check_classes("cls_pred", cls_pred, len(cls_true))
    fig = Figure(figsize=(6, 5))
    ax = fig.subplots()
    ConfusionMatrixDisplay.from_predictions(
        cls_true, cls_pred, labels=range(num_classes), ax=ax, colorbar=True
    )
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    return fig


# (title, colour, steps, which step the last one feeds back into)
_LOOPS = (
    (
        "1. Train the weights",
        "#dbe9f6",
        [
            "training images\n+ true classes",
            "CNN\n(weights change)",
            "cross-entropy\nloss",
            "Adam updates\nthe weights",
        ],
        1,
    ),
    (
        "2. Optimise the input image",
        "#fde6cf",
        [
            "noise image",
            "CNN\n(weights fixed)",
            "chosen feature\nor digit's logit",
            "gradient ascent\non the pixels",
        ],
        0,
    ),
)


def plot_flowchart() -> Figure:
    """The tutorial's two optimisation loops: first the weights, then the image."""
    fig = Figure(figsize=(10, 5.2))
    ax = fig.subplots()
    ax.set_xlim(0, 10)
    ax.set_ylim(-0.9, 4.6)
    ax.axis("off")
    for row, (title, colour, steps, back_to) in enumerate(_LOOPS):
        y = 3.35 - 2.3 * row
        ax.text(0.1, y + 0.75, title, fontsize=12, fontweight="bold")
        centres = [1.25 + 2.5 * i for i in range(len(steps))]
        for x, label in zip(centres, steps):
            ax.add_patch(
                FancyBboxPatch(
                    (x - 0.95, y - 0.4),
                    1.9,
                    0.8,
                    boxstyle="round,pad=0.05",
                    fc=colour,
                    ec="#555555",
                )
            )
            ax.text(x, y, label, ha="center", va="center", fontsize=9)
        for a, b in zip(centres, centres[1:]):
            ax.add_patch(
                FancyArrowPatch(
                    (a + 1.0, y), (b - 1.0, y), arrowstyle="-|>", mutation_scale=14, color="#333333"
                )
            )
        # The update feeds back (into the weights, or into the image): the loop.
        ax.add_patch(
            FancyArrowPatch(
                (centres[-1], y - 0.45),
                (centres[back_to], y - 0.45),
                connectionstyle="arc3,rad=-0.25",
                arrowstyle="-|>",
                mutation_scale=14,
                color="#333333",
            )
        )
    return fig


def animate_ascent(
    frames,
    frame_steps: Sequence[int],
    titles: Sequence[str] | None = None,
    ncols: int = 10,
    interval_ms: int = 150,
) -> FuncAnimation:
    """An animation of an ascent: ``frames`` (T, n, 28, 28) as a grid of ``n``
    one-channel images per frame, the step number in the figure's title.
    Show it in a notebook with ``IPython.display.HTML(anim.to_jshtml())`` or save
    it with :func:`save_gif`."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[2:] != img_shape:
        raise ValueError(f"frames must have shape (steps, n, 28, 28), got {frames.shape}.")
    if len(frame_steps) != len(frames):
        raise ValueError(
            f"frame_steps must have one entry per frame: {len(frames)} frames, "
            f"{len(frame_steps)} steps."
        )
    for frame in frames:
        check_images("frames", frame)
    fig = plot_image_grid(frames[-1], ncols, titles)
    shown = [ax.images[0] for ax in fig.axes if ax.images]
    heading = fig.suptitle("")

    def draw(t):
        for artist, image in zip(shown, frames[t]):
            artist.set_data(image)
        heading.set_text(f"step {frame_steps[t]}")
        return [*shown, heading]

    fig.subplots_adjust(top=0.8)
    draw(0)
    return FuncAnimation(fig, draw, frames=len(frames), interval=interval_ms, blit=False)


def save_gif(
    animation: FuncAnimation, path: str | os.PathLike, fps: int = 8, dpi: int = 60
) -> Path:
    """Write ``animation`` as a GIF, atomically (temporary file, then rename)."""
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"the animation file must end in .gif, got {str(path)!r}.")
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"folder {str(path.parent)!r} does not exist; create it first or choose another path."
        )
    writer = PillowWriter(fps=check_positive_int("fps", fps))
    dpi = check_positive_int("dpi", dpi)
    with atomic_write(path) as tmp:
        animation.save(tmp, writer=writer, dpi=dpi)
    return path


def plot_ascent_result(image, objective_curve, title: str) -> Figure:
    """One optimised image beside the curve of its objective over the steps:
    ``objective_curve[k]`` is the objective after k steps (k = 0 is the start)."""
    image = check_images("image", np.reshape(image, (1, *img_shape)))[0]
    curve = np.asarray(objective_curve, dtype=float)
    if curve.ndim != 1 or len(curve) == 0:
        raise ValueError(
            f"objective_curve must be a non-empty 1-D sequence, got shape {curve.shape}."
        )
    fig = Figure(figsize=(7, 3))
    image_ax, curve_ax = fig.subplots(1, 2, width_ratios=[1, 1.6])
    image_ax.imshow(image, cmap="binary", vmin=0, vmax=1, interpolation="nearest")
    image_ax.set_title(title, fontsize=9)
    _bare(image_ax)
    curve_ax.plot(np.arange(len(curve)), curve)
    curve_ax.set_xlabel("steps taken")
    curve_ax.set_ylabel("objective")
    fig.tight_layout()
    return fig
