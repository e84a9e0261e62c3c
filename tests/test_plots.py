"""The plots stage: every helper returns a Figure with the expected axes and labels."""

import numpy as np
import pytest
from matplotlib.figure import Figure

import mnist_viz as mv


def visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible() and ax.axison]


def test_plot_images_labels(mnist):
    fig = mv.plot_images(mnist.test.images[:9], mnist.test.cls[:9])
    assert isinstance(fig, Figure) and len(fig.axes) == 9
    assert [ax.get_xlabel() for ax in fig.axes][:3] == ["True: 7", "True: 2", "True: 1"]
    fig = mv.plot_images(mnist.test.images[:9], mnist.test.cls[:9], np.zeros(9, int))
    assert fig.axes[0].get_xlabel() == "True: 7, Pred: 0"


def test_plot_images10_and_titles():
    images = mv.noise_images(10, seed=0)
    fig = mv.plot_images10(images, smooth=False, titles=[f"f{i}" for i in range(10)])
    assert len(fig.axes) == 10
    assert [ax.get_title() for ax in fig.axes] == [f"f{i}" for i in range(10)]
    assert fig.axes[0].images[0].get_interpolation() == "nearest"
    assert mv.plot_images10(images).axes[0].images[0].get_interpolation() == "spline16"


def test_plot_image_grid_hides_spare_cells():
    fig = mv.plot_image_grid(mv.noise_images(16, seed=0), ncols=6)
    assert len(fig.axes) == 18 and len(visible_axes(fig)) == 16


def test_plot_image_accepts_flat_or_square():
    image = mv.noise_images(1, seed=0)[0]
    assert len(mv.plot_image(image).axes) == 1
    assert len(mv.plot_image(image.reshape(784)).axes) == 1


def test_plot_example_errors_shows_only_errors(mnist):
    cls_pred = mnist.test.cls[:50].copy()
    cls_pred[[3, 10, 20]] = (cls_pred[[3, 10, 20]] + 1) % 10
    fig = mv.plot_example_errors(mnist.test.images[:50], mnist.test.cls[:50], cls_pred)
    labels = [ax.get_xlabel() for ax in visible_axes(fig)]
    assert len(labels) == 3 and all("Pred" in label for label in labels)


def test_confusion_matrix_counts(mnist):
    cls_true = mnist.test.cls[:100]
    fig = mv.plot_confusion_matrix(cls_true, cls_true)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Predicted class" and ax.get_ylabel() == "True class"
    diagonal = [int(t.get_text()) for t in ax.texts][::11]
    assert diagonal == np.bincount(cls_true, minlength=10).tolist()


def test_flowchart_draws_both_loops():
    texts = [t.get_text() for t in mv.plot_flowchart().axes[0].texts]
    assert "1. Train the weights" in texts and "2. Optimise the input image" in texts


@pytest.mark.parametrize(
    "call, error, text",
    [
        (
            lambda: mv.plot_images(mv.noise_images(8), np.zeros(8, int)),
            ValueError,
            "exactly 9 images",
        ),
        (lambda: mv.plot_images10(mv.noise_images(9)), ValueError, "exactly 10 images"),
        (
            lambda: mv.plot_images(mv.noise_images(9), np.zeros(8, int)),
            ValueError,
            "cls_true must be 9 class numbers",
        ),
        (lambda: mv.plot_image(np.full((28, 28), np.nan)), ValueError, "NaN or infinite"),
        (lambda: mv.plot_image(np.full((28, 28), 255.0)), ValueError, r"lie in \[0, 1\]"),
        (
            lambda: mv.plot_image(np.zeros((27, 27))),
            ValueError,
            r"shape \(n, 784\) or \(n, 28, 28\)",
        ),
    ],
)
def test_bad_images_are_explained(call, error, text):
    with pytest.raises(error, match=text):
        call()


def test_animation_has_one_frame_per_snapshot_and_saves_a_gif(tmp_path):
    frames = np.stack([np.full((3, 28, 28), v, np.float32) for v in (0.0, 0.5, 1.0)])
    animation = mv.plots.animate_ascent(frames, [0, 10, 20], titles=["a", "b", "c"], ncols=3)
    animation._func(2)
    figure = animation._fig
    assert figure._suptitle.get_text() == "step 20"
    assert figure.axes[0].images[0].get_array().max() == 1.0
    path = mv.plots.save_gif(animation, tmp_path / "ascent.gif")
    from PIL import Image

    with Image.open(path) as gif:
        assert gif.n_frames == 3 and gif.mode in ("P", "L", "RGB", "RGBA")
    assert [p.name for p in tmp_path.iterdir()] == ["ascent.gif"]  # no temporary left


@pytest.mark.parametrize(
    "frames, steps, message",
    [
        (np.zeros((3, 28, 28)), [0, 1, 2], "frames must have shape"),
        (np.zeros((2, 1, 28, 28)), [0], "one entry per frame"),
        (np.full((1, 1, 28, 28), 2.0), [0], "lie in \\[0, 1\\]"),
    ],
)
def test_animation_rejects_bad_frames(frames, steps, message):
    with pytest.raises(ValueError, match=message):
        mv.plots.animate_ascent(frames, steps)


def test_save_gif_needs_a_gif_path_in_an_existing_folder(tmp_path):
    animation = mv.plots.animate_ascent(np.zeros((2, 1, 28, 28)), [0, 1], ncols=1)
    mv.plots.save_gif(animation, tmp_path / "fine.gif")
    with pytest.raises(ValueError, match="must end in .gif"):
        mv.plots.save_gif(animation, tmp_path / "a.png")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        mv.plots.save_gif(animation, tmp_path / "missing" / "a.gif")


def test_ascent_result_curve_starts_at_step_zero():
    fig = mv.plot_ascent_result(np.zeros((28, 28)), [1.0, 3.0, 4.0], title="t")
    line = fig.axes[1].get_lines()[0]
    assert list(line.get_xdata()) == [0, 1, 2] and fig.axes[1].get_xlabel() == "steps taken"


def test_plot_arrays_draws_small_signed_and_unsigned_arrays():
    patches = np.zeros((3, 5, 5))
    patches[1, 2, 2] = 2.0
    fig = mv.plot_arrays(patches, ncols=2, titles=["a", "b", "c"])
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 3 and shown[1].images[0].get_array().shape == (5, 5)
    assert shown[1].images[0].get_clim() == (0, 2.0)
    signed = mv.plot_arrays(np.array([[[-1.0, 0.5]]]), ncols=1, signed=True)
    assert signed.axes[0].images[0].get_clim() == (-1.0, 1.0)
    bars = [ax for ax in signed.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 1  # a signed figure says what its colours mean
    assert [t.get_text() for t in bars[0].get_yticklabels()] == [
        "most negative",
        "0",
        "most positive",
    ]
    assert not [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    with pytest.raises(ValueError, match="finite stack of 2-D arrays"):
        mv.plot_arrays(np.zeros((5, 5)), ncols=1)


def test_plot_image_grid_names_its_rows():
    fig = mv.plot_image_grid(mv.noise_images(7, seed=0), ncols=3, rows=["a", "b", "c"])
    assert [ax.get_ylabel() for ax in fig.axes[::3]] == ["a", "b", "c"]
    assert all(ax.get_ylabel() == "" for i, ax in enumerate(fig.axes) if i % 3)
    with pytest.raises(ValueError, match="rows must name each row of the grid: 3 rows, 2 names"):
        mv.plot_image_grid(mv.noise_images(7, seed=0), ncols=3, rows=["a", "b"])
