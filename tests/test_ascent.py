"""The ascent engine and its pieces: each objective, transform, penalty, update rule
and callback."""

import math

import numpy as np
import pytest

import mnist_viz as mv
from mnist_viz import ascent as vz
from mnist_viz import objectives as ob
from mnist_viz import starts as st
from mnist_viz import transforms as tr
from mnist_viz._tf import keras, tf

PLAIN = vz.Settings(
    steps=20, jitter=0.0, scale=0.0, rotation=0.0, tv=0.0, l1=0.0, blur_every=0, contrast=0.0
)


# -- objectives -------------------------------------------------------------


def _layer_output(model, name, images):
    return mv.layers.layer_model(model, [name])(images.reshape(-1, 784)).numpy()


def test_channel_objective_is_the_reference_objective(mnist, trained_model):
    images = mnist.test.images[:3].reshape(-1, 28, 28)
    objectives = [ob.channel(trained_model, "layer_conv2", 5)] * 3
    np.testing.assert_allclose(
        ob.evaluate(trained_model, objectives, images),
        mv.feature_objective(trained_model, "layer_conv2", 5, images),
        rtol=1e-5,
    )


def test_neuron_objective_reads_one_position(mnist, trained_model):
    images = mnist.test.images[:2].reshape(-1, 28, 28)
    objective = ob.neuron(trained_model, 0, 3, x=10, y=4)
    expected = _layer_output(trained_model, "layer_conv1", images)[:, 4, 10, 3]
    np.testing.assert_allclose(
        ob.evaluate(trained_model, [objective] * 2, images), expected, rtol=1e-5
    )


def test_unit_and_logit_objectives_read_one_value(mnist, trained_model):
    images = mnist.test.images[:2].reshape(-1, 28, 28)
    units = _layer_output(trained_model, "layer_fc1", images)[:, 17]
    logits = trained_model(images.reshape(-1, 784)).numpy()
    np.testing.assert_allclose(
        ob.evaluate(trained_model, [ob.unit(trained_model, "layer_fc1", 17)] * 2, images),
        units,
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        ob.evaluate(trained_model, [ob.logit(trained_model, 4)] * 2, images),
        logits[:, 4],
        rtol=1e-5,
    )
    contrasted = ob.logit(trained_model, 4, contrast=2.0)
    others = (logits.sum(axis=1) - logits[:, 4]) / 9
    np.testing.assert_allclose(
        ob.evaluate(trained_model, [contrasted] * 2, images),
        logits[:, 4] - 2.0 * others,
        rtol=1e-4,
        atol=1e-4,
    )


def test_weighted_sums_of_objectives_are_objectives(mnist, trained_model):
    images = mnist.test.images[:2].reshape(-1, 28, 28)
    a = ob.channel(trained_model, "layer_conv1", 2)
    b = ob.logit(trained_model, 7)

    def value(objective):
        return ob.evaluate(trained_model, [objective] * 2, images)

    np.testing.assert_allclose(value(a + 2 * b), value(a) + 2 * value(b), rtol=1e-4)
    np.testing.assert_allclose(value(a - b), value(a) - value(b), rtol=1e-4)
    np.testing.assert_allclose(value(-a), -value(a), rtol=1e-5)
    assert set((a + b).layers) == {"layer_conv1", "layer_fc_out"}
    assert "logit 7" in (a + b).description


def test_layer_objectives_pick_the_kind_of_layer(trained_model):
    assert len(ob.layer_objectives(trained_model, "layer_conv2")) == 36
    assert ob.layer_objectives(trained_model, 0, [1])[0].description.startswith("layer_conv1")
    assert ob.layer_objectives(trained_model, "layer_fc1", [3])[0].description == "layer_fc1[3]"
    assert ob.layer_objectives(trained_model, None, [3])[0].description == "logit 3"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda m: ob.channel(m, "layer_fc1", 0), "need a conv layer"),
        (lambda m: ob.unit(m, "layer_conv1", 0), "need a dense layer"),
        (lambda m: ob.neuron(m, 0, 0, x=28, y=0), "x must be >= 0 and <= 27"),
        (lambda m: ob.logit(m, 10), "valid indices are 0..9"),
        (lambda m: ob.logit(m, 1, contrast=-1), "contrast must be a finite number >= 0"),
    ],
)
def test_objectives_reject_what_they_cannot_mean(trained_model, make, message):
    with pytest.raises(ValueError, match=message):
        make(trained_model)


# -- transforms -------------------------------------------------------------


def _as_batch(images):
    return tf.constant(np.asarray(images, np.float32)[..., None])


def test_zero_transforms_are_the_identity(mnist):
    images = mnist.test.images[:4].reshape(-1, 28, 28)
    matrices = tr.random_affine_matrices(4, tf.constant([0, 0]), 0.0, 0.0, 0.0)
    out = tr.apply_affine(_as_batch(images), matrices).numpy()[..., 0]
    np.testing.assert_allclose(out, images, atol=1e-6)


def _centre_of_mass(images):
    rows = np.arange(28)
    mass = images.sum(axis=(1, 2))
    return (
        (images.sum(axis=2) * rows).sum(axis=1) / mass,
        (images.sum(axis=1) * rows).sum(axis=1) / mass,
    )


def test_jitter_moves_the_image_by_at_most_its_range(mnist):
    images = mnist.test.images[:50].reshape(-1, 28, 28)
    matrices = tr.random_affine_matrices(50, tf.constant([1, 2]), 2.0, 0.0, 0.0)
    moved = tr.apply_affine(_as_batch(images), matrices).numpy()[..., 0]
    shift = np.abs(np.subtract(_centre_of_mass(moved), _centre_of_mass(images)))
    assert shift.max() <= 2.0 + 0.05 and shift.max() > 0.5


def test_scale_and_rotation_keep_a_centred_digit_but_change_it(mnist):
    images = mnist.test.images[:20].reshape(-1, 28, 28)
    for scale, rotation in [(0.1, 0.0), (0.0, 10.0)]:
        matrices = tr.random_affine_matrices(20, tf.constant([3, 4]), 0.0, scale, rotation)
        out = tr.apply_affine(_as_batch(images), matrices).numpy()[..., 0]
        ink_ratio = out.sum(axis=(1, 2)) / images.sum(axis=(1, 2))
        assert np.all((ink_ratio > 0.75) & (ink_ratio < 1.3))
        assert np.abs(out - images).max() > 0.1


def test_transforms_are_seeded(mnist):
    a = tr.random_affine_matrices(5, tf.constant([7, 0]), 2.0, 0.1, 10.0).numpy()
    b = tr.random_affine_matrices(5, tf.constant([7, 0]), 2.0, 0.1, 10.0).numpy()
    c = tr.random_affine_matrices(5, tf.constant([7, 1]), 2.0, 0.1, 10.0).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


# -- penalties and blur -----------------------------------------------------


def test_penalties_measure_what_they_say():
    flat = np.full((1, 28, 28), 0.5, np.float32)
    stripes = np.zeros((1, 28, 28), np.float32)
    stripes[:, :, ::2] = 1.0
    assert float(tr.total_variation(_as_batch(flat))[0]) == 0.0
    assert float(tr.total_variation(_as_batch(stripes))[0]) == 28 * 27
    assert math.isclose(float(tr.l1_penalty(_as_batch(flat))[0]), 0.5 * 784, rel_tol=1e-6)
    assert math.isclose(float(tr.l2_penalty(_as_batch(flat))[0]), 0.25 * 784, rel_tol=1e-6)


def _penalty_of(images, penalty):
    return float(np.mean(tr.PENALTIES[penalty](_as_batch(images)).numpy()))


@pytest.mark.parametrize("penalty, weight", [("tv", 0.2), ("l2", 0.2), ("l1", 0.2)])
def test_each_penalty_lowers_what_it_penalises(trained_model, penalty, weight):
    objectives = ob.layer_objectives(trained_model, None, range(4))
    base = PLAIN.replace(steps=40, start="noise")
    free = vz.visualize(trained_model, objectives, base, seed=3).images
    penalised = vz.visualize(
        trained_model, objectives, base.replace(**{penalty: weight}), seed=3
    ).images
    assert _penalty_of(penalised, penalty) < 0.8 * _penalty_of(free, penalty)


def test_blur_smooths_and_keeps_the_ink():
    noise = mv.noise_images(3, seed=0) * 2 - 0.5
    noise = np.clip(noise, 0, 1)
    blurred = tr.blur(_as_batch(noise), 1.0).numpy()[..., 0]
    assert _penalty_of(blurred, "tv") < 0.5 * _penalty_of(noise, "tv")
    assert abs(blurred[:, 4:-4, 4:-4].mean() - noise[:, 4:-4, 4:-4].mean()) < 0.01


def test_periodic_blur_gives_smoother_images(trained_model):
    objectives = ob.layer_objectives(trained_model, None, range(4))
    base = PLAIN.replace(steps=40, start="noise")
    sharp = vz.visualize(trained_model, objectives, base, seed=1).images
    smooth = vz.visualize(
        trained_model, objectives, base.replace(blur_every=5, steps=36), seed=1
    ).images
    assert _penalty_of(smooth, "tv") < _penalty_of(sharp, "tv")


# -- the loop ---------------------------------------------------------------


def test_reference_settings_reproduce_the_reference_ascent(trained_model):
    reference = mv.optimize_images(trained_model, "layer_conv2", range(4), steps=30, seed=5)
    ours = vz.visualize(
        trained_model,
        ob.layer_objectives(trained_model, "layer_conv2", range(4)),
        vz.REFERENCE,
        seed=5,
    )
    np.testing.assert_allclose(ours.images, reference, atol=1e-4)


@pytest.mark.parametrize("update", ["adam", "std"])
def test_both_update_rules_raise_the_objective(trained_model, update):
    objectives = ob.layer_objectives(trained_model, None, range(10))
    settings = PLAIN.replace(steps=40, update=update, start="noise")
    result = vz.visualize(trained_model, objectives, settings, seed=0)
    start = ob.evaluate(trained_model, objectives, st.start_images(10, "noise", 0))
    end = ob.evaluate(trained_model, objectives, result.images)
    assert np.all(end > start + 1)
    assert np.all(mv.predict_classes(trained_model, result.images) == np.arange(10))


def test_batch_equals_one_at_a_time_without_random_transforms(trained_model):
    # With the std rule: Adam divides each pixel's gradient by its own running
    # size, so round-off in gradients that should be 0 becomes a full step.
    objectives = [
        ob.channel(trained_model, 1, 3),
        ob.unit(trained_model, "layer_fc1", 9),
        ob.logit(trained_model, 6),
    ]
    settings = PLAIN.replace(tv=0.01, l1=0.01, blur_every=5, start="noise", update="std")
    together = vz.visualize(trained_model, objectives, settings, seed=2).images
    starts = st.start_images(3, "noise", 2)
    for i, objective in enumerate(objectives):
        alone = vz.visualize(trained_model, [objective], settings, start=starts[i : i + 1]).images
        np.testing.assert_allclose(alone[0], together[i], atol=1e-4)


def test_a_run_is_reproducible_from_its_seed(trained_model):
    objectives = ob.layer_objectives(trained_model, None, range(3))
    settings = vz.REGULARIZED.replace(steps=25)
    a = vz.visualize(trained_model, objectives, settings, seed=4).images
    b = vz.visualize(trained_model, objectives, settings, seed=4).images
    c = vz.visualize(trained_model, objectives, settings, seed=5).images
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0.05


def test_images_stay_in_range_and_frames_are_kept(trained_model, capsys):
    frames = vz.RecordFrames(every=10)
    result = vz.visualize(
        trained_model,
        ob.layer_objectives(trained_model, None),
        vz.REGULARIZED.replace(steps=30),
        callbacks=[vz.PrintProgress(every=10), frames],
    )
    assert result.images.shape == (10, 28, 28)
    assert 0.0 <= result.images.min() and result.images.max() <= 1.0
    assert np.shape(frames.frames) == (4, 10, 28, 28) and frames.frame_steps == [0, 10, 20, 30]
    np.testing.assert_array_equal(frames.frames[-1], result.images)
    assert result.objective.shape == (30, 10) and result.no_gradient.shape == (30, 10)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "Step   10/30",
        "Step   20/30",
        "Step   30/30",
    ]


def _blind_model():
    """A model whose logits ignore the image: every gradient is exactly zero."""
    x = keras.Input(shape=(784,), name="x")
    logits = keras.layers.Dense(10, kernel_initializer="zeros", name="layer_fc_out")(x)
    return keras.Model(x, logits)


@pytest.mark.parametrize("update", ["adam", "std"])
def test_a_zero_gradient_is_reported_and_stays_finite(update, capsys):
    settings = PLAIN.replace(steps=5, update=update, start="noise")
    model = _blind_model()
    result = vz.visualize(
        model,
        ob.layer_objectives(model, None, [0, 1]),
        settings,
        callbacks=[vz.PrintProgress(every=5)],
    )
    assert np.all(np.isfinite(result.images)) and result.no_gradient.all()
    np.testing.assert_allclose(result.images, st.start_images(2, "noise", 0), atol=1e-6)
    assert "no gradient for 2 of 2 images" in capsys.readouterr().out


def test_regularized_settings_follow_the_layer(trained_model):
    assert vz.regularized_settings(trained_model, None) is vz.REGULARIZED
    assert vz.regularized_settings(trained_model, 1) is vz.REGULARIZED_CONV
    assert vz.regularized_settings(trained_model, "layer_fc1") is vz.REGULARIZED_DENSE
    images = vz.visualize_layer(
        trained_model, "layer_conv1", [0, 1], settings=vz.REGULARIZED_CONV.replace(steps=10)
    )
    assert images.shape == (2, 28, 28)


def test_visualize_digits_gives_one_row_per_restart(trained_model):
    digits = vz.visualize_digits(trained_model, vz.REGULARIZED.replace(steps=10), restarts=2)
    assert digits.shape == (2, 10, 28, 28)
    assert np.abs(digits[0] - digits[1]).max() > 0  # restarts differ by their transforms


def test_plain_shift_l1_is_plain_steps_with_a_shift_and_an_ink_charge(trained_model):
    preset = vz.PLAIN_SHIFT_L1
    assert preset.replace(jitter=0.0, l1=0.0, start="blank") == vz.PLAIN
    assert (preset.jitter, preset.l1, preset.start) == (1.0, 0.02, "mean digit")
    assert preset.scale == preset.rotation == preset.tv == preset.blur_every == 0
    by_layer = [
        vz.plain_shift_l1_settings(trained_model, layer)
        for layer in ("layer_conv2", "layer_fc1", None)
    ]
    assert by_layer == [vz.PLAIN_SHIFT_L1_CONV, vz.PLAIN_SHIFT_L1_DENSE, preset]
    assert by_layer[0].l1 < by_layer[1].l1 < by_layer[2].l1  # scaled to the layer's values
    assert all(s.replace(l1=preset.l1) == preset for s in by_layer)


def test_the_mean_digit_start_is_the_mean_training_digit_plus_seeded_noise(mnist):
    starts = st.start_images(3, "mean digit", 4)
    np.testing.assert_array_equal(starts, st.neutral_starts(st.mean_digit(mnist), 3, seed=4))
    assert np.abs(starts - st.mean_digit(mnist)).max() <= 0.05 + 1e-6
    assert np.abs(starts[0] - starts[1]).max() > 0  # each image its own noise


def test_an_ink_charge_clears_what_the_objective_does_not_ask_for(trained_model):
    """L1 pulls every pixel with ink toward 0 each step; where the objective's
    gradient is silent (here: an objective of one corner pixel) ink fades away."""
    corner = ob.custom(
        lambda outputs: outputs["layer_conv1"][:, 0, 0, 0], ["layer_conv1"], "one corner position"
    )
    grey = np.full((2, 28, 28), 0.3, np.float32)
    settings = vz.PLAIN_SHIFT_L1.replace(steps=30, jitter=0.0)
    kept = vz.visualize(trained_model, corner, settings.replace(l1=0.0), start=grey).images
    charged = vz.visualize(trained_model, corner, settings, start=grey).images
    far = (slice(None), slice(10, 20), slice(10, 20))  # the corner's gradient never reaches it
    np.testing.assert_allclose(kept[far], 0.3, atol=1e-6)
    assert charged[far].max() < 0.05
