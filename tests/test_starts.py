"""Where an ascent starts, and what it drew beyond its start (mnist_viz.starts)."""

import numpy as np
import pytest

import mnist_viz as mv
from mnist_viz import starts


def test_neutral_starts_differ_by_small_seeded_noise(mnist):
    base = mv.mean_digit(mnist)
    assert base.shape == (28, 28) and 0.1 < base.mean() < 0.15
    images = mv.neutral_starts(base, 5, noise=0.05, seed=1)
    assert images.shape == (5, 28, 28) and images.min() >= 0
    assert np.abs(images - base).max() <= 0.05 + 1e-6
    assert not np.array_equal(images[0], images[1])
    np.testing.assert_array_equal(images, mv.neutral_starts(base, 5, noise=0.05, seed=1))


def test_ink_added_keeps_the_strokes_the_steps_drew_and_drops_the_start():
    start = np.full((2, 28, 28), 0.3, np.float32)  # a grey halo everywhere
    final = start.copy()
    final[:, 10:18, 14] = 0.9  # a stroke drawn by the steps
    final[:, 0, 0] = 0.33  # darkened, but by less than the threshold
    final[1, 5, 5] = 0.1  # ink removed by the steps
    drawn = mv.ink_added(final, start, threshold=0.05)
    assert drawn.shape == (2, 28, 28)
    np.testing.assert_array_equal(drawn[:, 10:18, 14], np.float32(0.9))
    drawn[:, 10:18, 14] = 0
    assert not drawn.any()  # halo, small change and removed ink all gone
    np.testing.assert_array_equal(
        mv.ink_added(final.reshape(2, -1), start.reshape(2, -1)), mv.ink_added(final, start)
    )


def test_ink_added_rejects_mismatched_shapes_and_bad_thresholds():
    images = np.zeros((2, 28, 28), np.float32)
    with pytest.raises(ValueError, match="same shape"):
        mv.ink_added(images, images[:1])
    with pytest.raises(ValueError, match="threshold"):
        mv.ink_added(images, images, threshold=0)
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\)"):
        mv.ink_added(images, images, threshold=1.0)


def test_each_named_start_is_what_its_name_says():
    blank = starts.start_images(2, "blank", 0)
    assert blank.shape == (2, 28, 28) and not blank.any()
    np.testing.assert_array_equal(starts.start_images(2, "noise", 3), mv.noise_images(2, seed=3))
    assert set(starts.STARTS) == {"blank", "noise", "mean digit"}
    with pytest.raises(ValueError, match=r"start must be one of .*'mean digit'.*got 'zeros'"):
        starts.start_images(2, "zeros", 0)
