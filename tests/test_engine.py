"""The one engine's seams: batch objectives (diversity, your own), parameterisations,
callbacks, compiled-loop reuse, the linear-layer rule and the module layout."""

import ast
from pathlib import Path

import numpy as np
import pytest

import mnist_viz as mv
from mnist_viz import _fast, ascent, explorer, params, transforms
from mnist_viz import objectives as ob
from mnist_viz._tf import keras, tf

PACKAGE = Path(mv.__file__).resolve().parent


def _mean_pairwise_distance(images, groups):
    flat = images.reshape(len(images), -1)
    distances = [
        np.linalg.norm(flat[i] - flat[j])
        for i in range(len(flat))
        for j in range(i + 1, len(flat))
        if groups[i] == groups[j]
    ]
    return float(np.mean(distances))


# -- diversity ----------------------------------------------------------------


def test_diversity_pushes_images_of_one_feature_apart(trained_model):
    digits = np.repeat([1, 4, 7], 4)
    objectives = ob.per_image(ob.layer_objectives(trained_model, None, digits, contrast=3.0))
    settings = mv.REGULARIZED.replace(steps=80)
    alone = mv.visualize(trained_model, objectives, settings, seed=0).images
    diverse = mv.visualize(
        trained_model, objectives + 5.0 * ob.diversity(trained_model, 1, digits), settings, seed=0
    ).images
    assert _mean_pairwise_distance(diverse, digits) > 1.1 * _mean_pairwise_distance(alone, digits)


def test_diversity_is_minus_the_gram_similarity_within_a_group(mnist, trained_model):
    images = mnist.test.images[:4].reshape(-1, 28, 28)
    same = np.stack([images[0]] * 2 + [images[1], images[2]])
    values = ob.evaluate(trained_model, ob.diversity(trained_model, 0, [0, 0, 1, 1]), same)
    np.testing.assert_allclose(values[:2], -1.0, atol=1e-5)  # identical images: cosine 1
    assert np.all(values[2:] > -1.0 + 1e-3) and np.all(values[2:] < 0)


@pytest.mark.parametrize(
    "groups, error, message",
    [
        ([3], ValueError, "at least two images to compare, got 1"),
        ([0, 0, 1], ValueError, "group 1 has one"),
        ([0.5, 0.5], TypeError, "groups must be whole numbers"),
    ],
)
def test_diversity_needs_groups_of_two_or_more(trained_model, groups, error, message):
    with pytest.raises(error, match=message):
        ob.diversity(trained_model, 1, groups)


def test_diversity_reads_a_conv_layer(trained_model):
    with pytest.raises(ValueError, match="layer_fc1 is not a conv layer"):
        ob.diversity(trained_model, "layer_fc1", [0, 0])


# -- parameterisations ----------------------------------------------------------


def test_fourier_represents_a_given_image_exactly():
    images = np.random.default_rng(0).uniform(0.01, 0.99, (3, 28, 28)).astype(np.float32)
    fourier = params.parameterization("fourier")
    back = fourier.decode(fourier.encode(images)).numpy()[..., 0]
    np.testing.assert_allclose(back, images, atol=2e-5)


def _high_frequency_share(images):
    spectrum = np.abs(np.fft.fft2(images - images.mean(axis=(1, 2), keepdims=True))) ** 2
    frequency = np.hypot(*np.meshgrid(np.fft.fftfreq(28), np.fft.fftfreq(28)))
    return float(spectrum[:, frequency > 0.25].sum() / spectrum.sum())


def test_fourier_images_carry_less_high_frequency_energy(trained_model):
    objectives = ob.layer_objectives(trained_model, None, range(10), contrast=3.0)
    plain = mv.REGULARIZED.replace(
        steps=60, tv=0.0, blur_every=0, jitter=0.0, scale=0.0, rotation=0.0
    )
    pixels = mv.visualize(trained_model, objectives, plain).images
    fourier = mv.visualize(trained_model, objectives, plain.replace(param="fourier")).images
    assert _high_frequency_share(fourier) < 0.85 * _high_frequency_share(pixels)
    assert 0.0 <= fourier.min() and fourier.max() <= 1.0


def test_unknown_parameterisation_is_named():
    with pytest.raises(
        ValueError,
        match=r"param must be one of \['fourier', 'pixels'\], "
        r"got 'wavelet'",
    ):
        mv.REGULARIZED.replace(param="wavelet")
    with pytest.raises(ValueError, match="unknown parameterisation 'wavelet'"):
        params.parameterization("wavelet")


def test_an_unknown_start_in_the_settings_is_named():
    with pytest.raises(ValueError, match=r"start must be one of \(.*'mean digit'\), got 'zeros'"):
        mv.REGULARIZED.replace(start="zeros")


# -- the faster gradients ----------------------------------------------------------


def _input_gradient(function, images):
    images = tf.constant(images)
    with tf.GradientTape() as tape:
        tape.watch(images)
        outputs = function(images)
        signs = tf.cast(tf.range(outputs.shape[-1]) % 3 - 1, tf.float32)  # -1, 0, +1, ...
        total = tf.reduce_sum(outputs * signs)
    return outputs.numpy(), tape.gradient(total, images).numpy()


@pytest.mark.parametrize(
    "layers", [["layer_conv1"], ["layer_conv2"], ["layer_fc1", "layer_fc_out"]]
)
def test_the_ascent_model_gives_the_networks_outputs_and_input_gradient(
    mnist, trained_model, layers
):
    from mnist_viz import layers as ly

    def deepest(cut):
        return lambda images: tf.nest.flatten(cut(images))[-1]

    images = mnist.test.images[:6]
    fast, fast_grad = _input_gradient(deepest(ly.ascent_model(trained_model, layers)), images)
    keras_out, keras_grad = _input_gradient(deepest(ly.layer_model(trained_model, layers)), images)
    assert ly.ascent_model(trained_model, layers) is not ly.layer_model(trained_model, layers)
    np.testing.assert_array_equal(fast, keras_out)  # the same forward pass, to the bit
    scale = np.abs(keras_grad).max()
    np.testing.assert_allclose(fast_grad, keras_grad, atol=1e-5 * scale)
    assert scale > 0


def _one_conv_network(**conv):
    x = keras.Input((784,))
    net = keras.layers.Conv2D(2, 3, name="conv", **conv)(keras.layers.Reshape((28, 28, 1))(x))
    return keras.Model(x, keras.layers.Dense(3, name="logits")(keras.layers.Flatten()(net)))


@pytest.mark.parametrize(
    "make",
    [
        lambda: mv.build_cnn((2,), (4,), kernel_size=4),
        lambda: _one_conv_network(padding="valid"),
        lambda: _one_conv_network(padding="same", activation="relu"),
    ],
    ids=["even kernel", "valid padding", "activation built in"],
)
def test_a_network_the_fast_gradient_does_not_fit_runs_as_keras_builds_it(make):
    from mnist_viz import layers as ly

    model = make()
    names = [mv.dense_layer_names(model)[-1]]
    assert ly.ascent_model(model, names) is ly.layer_model(model, names)


def test_switched_off_the_ascent_runs_the_straightforward_code(trained_model, monkeypatch):
    from mnist_viz import layers as ly

    names = ["layer_conv2"]
    assert ly.ascent_model(trained_model, names) is not ly.layer_model(trained_model, names)

    def compiled_loop(*args):
        raise AssertionError("the compiled loop ran")

    monkeypatch.setattr(_fast, "compiled_loop", compiled_loop)
    model = mv.build_cnn((2,), (4,), kernel_size=3)  # fresh: nothing compiled for it yet
    objectives = ob.layer_objectives(model, 0, [1])
    with _fast.disabled():
        assert ly.ascent_model(trained_model, names) is ly.layer_model(trained_model, names)
        plain = mv.visualize(model, objectives, mv.REFERENCE.replace(steps=3))
    assert plain.objective.shape == (3, 1)
    with pytest.raises(AssertionError, match="the compiled loop ran"):
        mv.visualize(model, objectives, mv.REFERENCE.replace(steps=3))


def _mixed_objectives(model):
    return [
        ob.channel(model, 0, 3),
        ob.channel(model, 1, 7),
        ob.neuron(model, 1, 2, 5, 6),
        ob.unit(model, "layer_fc1", 11),
        ob.logit(model, 4, contrast=3.0),
        ob.channel(model, 0, 1) + 0.5 * ob.channel(model, 1, 2),  # two layers, one image
        ob.channel(model, 1, 9),
    ]


def _batch_values_and_gradient(model, objectives, images):
    images = tf.constant(images.reshape(len(objectives), 784))
    batch = ob.per_image(objectives)
    with tf.GradientTape() as tape:
        tape.watch(images)
        values = batch(ob.LayerOutputs(model, images))
    return values.numpy(), tf.convert_to_tensor(tape.gradient(values, images)).numpy()


def test_a_batch_reads_each_layers_input_instead_of_the_layer(trained_model):
    channels = ob.per_image(ob.layer_objectives(trained_model, "layer_conv2", [0, 5]))
    first = ob.per_image(ob.layer_objectives(trained_model, "layer_conv1", [1]))
    logits = ob.per_image(ob.layer_objectives(trained_model, None, [2], contrast=3.0))
    assert channels.reads(trained_model) == ("layer_pool1",)
    assert first.reads(trained_model) == ("x_image",)
    assert logits.reads(trained_model) == ("layer_fc1_relu",)
    with _fast.disabled():  # the straightforward code reads the layers themselves
        assert channels.reads(trained_model) == channels.layers == ("layer_conv2",)
        assert logits.reads(trained_model) == logits.layers == ("layer_fc_out",)


def test_reading_a_layers_input_gives_the_same_values_and_gradient(mnist, trained_model):
    objectives = _mixed_objectives(trained_model)
    images = mnist.test.images[: len(objectives)]
    own = np.array(
        [
            o(ob.LayerOutputs(trained_model, tf.constant(image[None]))).numpy()[0]
            for o, image in zip(objectives, images)
        ]
    )
    values, gradient = _batch_values_and_gradient(trained_model, objectives, images)
    with _fast.disabled():
        plain_values, plain_gradient = _batch_values_and_gradient(trained_model, objectives, images)
    atol = 1e-6 * np.abs(own).max()  # a logit with contrast may lie near 0
    np.testing.assert_allclose(values, own, rtol=1e-5, atol=atol)
    np.testing.assert_allclose(plain_values, own, rtol=1e-5, atol=atol)
    np.testing.assert_allclose(
        gradient, plain_gradient, rtol=1e-5, atol=1e-6 * np.abs(plain_gradient).max()
    )
    assert np.all(np.abs(plain_gradient).max(axis=1) > 0)  # every image has a gradient


def test_an_objective_built_for_another_network_reads_this_ones_layers(mnist):
    one_dense = mv.build_cnn((3, 4), (5,), kernel_size=3)
    two_dense = mv.build_cnn((3, 4), (5, 5), kernel_size=3)  # its logits read layer_fc2_relu
    images = mnist.test.images[:2].reshape(-1, 28, 28)
    foreign = [ob.logit(one_dense, 2, contrast=1.0)] * 2
    native = [ob.logit(two_dense, 2, contrast=1.0)] * 2
    np.testing.assert_allclose(
        ob.evaluate(two_dense, foreign, images), ob.evaluate(two_dense, native, images), rtol=1e-5
    )
    settings = mv.REFERENCE.replace(steps=5)
    np.testing.assert_allclose(
        mv.visualize(two_dense, foreign, settings).images,
        mv.visualize(two_dense, native, settings).images,
        atol=1e-5,
    )


def test_total_variation_has_tensorflows_values_and_gradient():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (3, 28, 28, 1)).astype(np.float32)
    images[1, 5:15, 5:15] = 1.0  # flat patches: differences of exactly 0
    images[2] = np.round(images[2])
    ours, our_grad = _per_image_gradient(transforms.total_variation, images)
    theirs, their_grad = _per_image_gradient(tf.image.total_variation, images)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    np.testing.assert_array_equal(our_grad, their_grad)


def _per_image_gradient(penalty, images):
    images = tf.constant(images)
    weights = tf.constant([1.0, -2.0, 0.5])
    with tf.GradientTape() as tape:
        tape.watch(images)
        values = penalty(images)
        total = tf.reduce_sum(values * weights)
    return values.numpy(), tape.gradient(total, images).numpy()


# -- your own objective, and bad ones --------------------------------------------


def test_a_custom_batch_objective_runs(trained_model):
    def corner_ink(outputs):  # a non-linear objective of a layer's output
        return tf.reduce_mean(tf.square(outputs["layer_conv1"][:, :8, :8, :]), axis=[1, 2, 3])

    objective = ob.custom(corner_ink, ["layer_conv1"], "corner energy", batch_size=2)
    result = mv.visualize(trained_model, objective, mv.REFERENCE.replace(steps=10))
    assert result.objective.shape == (10, 2)
    assert np.all(result.objective[-1] > result.objective[0])


def test_an_objective_of_the_wrong_shape_is_a_clear_error(trained_model):
    objective = ob.custom(
        lambda outputs: tf.reduce_sum(outputs["layer_conv1"]),
        ["layer_conv1"],
        "one number for all",
        batch_size=2,
    )
    with pytest.raises(
        ValueError,
        match=r"'one number for all' must give one value per "
        r"image, shape \(2,\), got shape \(\)",
    ):
        mv.visualize(trained_model, objective, mv.REFERENCE.replace(steps=3))


def test_an_objective_that_becomes_nan_stops_the_run(trained_model):
    objective = ob.custom(
        lambda outputs: tf.math.log(outputs["layer_conv1"][:, 0, 0, 0] * 0),
        ["layer_conv1"],
        "log of zero",
        batch_size=2,
    )
    with pytest.raises(
        FloatingPointError, match="'log of zero' became NaN or infinite between steps 0 and 3"
    ):
        mv.visualize(trained_model, objective, mv.REFERENCE.replace(steps=3))


def test_a_list_must_hold_one_image_objectives(trained_model):
    batch = ob.diversity(trained_model, 0, [0, 0])
    with pytest.raises(TypeError, match="objectives\\[1\\] must be a one-image objective"):
        mv.visualize(trained_model, [ob.logit(trained_model, 1), batch])


def test_adding_objectives_for_different_batches_is_an_error(trained_model):
    with pytest.raises(ValueError, match="cannot add objectives for 3 and 2 images"):
        ob.per_image([ob.logit(trained_model, d) for d in range(3)]) + ob.diversity(
            trained_model, 0, [0, 0]
        )


# -- callbacks --------------------------------------------------------------------


class _Boom(mv.Callback):
    every = 5

    def __call__(self, state, history):
        if state.done == 10:
            raise RuntimeError("stop at 10")


def test_a_raising_callback_propagates_and_leaves_nothing_behind(trained_model):
    objectives = ob.layer_objectives(trained_model, None, [2, 3])
    settings = mv.REGULARIZED.replace(steps=20)
    with pytest.raises(RuntimeError, match="stop at 10"):
        mv.visualize(trained_model, objectives, settings, callbacks=[_Boom()])
    again = mv.visualize(trained_model, objectives, settings).images
    fresh = mv.visualize(trained_model, objectives, settings).images
    np.testing.assert_array_equal(again, fresh)


def test_callbacks_do_not_change_the_images(trained_model, capsys):
    objectives = ob.layer_objectives(trained_model, None, [2, 3])
    settings = mv.REGULARIZED.replace(steps=20)
    quiet = mv.visualize(trained_model, objectives, settings)
    watched = mv.visualize(
        trained_model,
        objectives,
        settings,
        callbacks=[mv.PrintProgress(every=7), mv.RecordFrames(every=3)],
    )
    np.testing.assert_allclose(watched.images, quiet.images, atol=1e-6)
    np.testing.assert_allclose(watched.objective, quiet.objective, rtol=1e-5, atol=1e-6)
    assert [line.split(":")[0] for line in capsys.readouterr().out.splitlines()] == [
        "Step    7/20",
        "Step   14/20",
        "Step   20/20",
    ]


def test_library_code_prints_nothing_unless_asked(trained_model, capsys):
    mv.optimize_images(trained_model, 0, [1, 2], steps=3)
    mv.visualize_layer(trained_model, 0, [1], settings=mv.REGULARIZED.replace(steps=3))
    mv.optimize_image(trained_model, 0, 1, steps=3, show_progress=False)
    assert capsys.readouterr().out == ""
    mv.optimize_image(trained_model, 0, 1, steps=3)
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_a_callback_must_be_a_callback(trained_model):
    with pytest.raises(TypeError, match=r"callbacks\[0\] must be a Callback"):
        mv.visualize(
            trained_model, ob.layer_objectives(trained_model, None, [1]), callbacks=[print]
        )
    never = _Boom()
    never.every = 0
    with pytest.raises(ValueError, match=r"callbacks\[0\].every must be >= 1, got 0"):
        mv.visualize(
            trained_model, ob.layer_objectives(trained_model, None, [1]), callbacks=[never]
        )


def test_each_transform_draws_its_own_random_numbers(trained_model):
    seeds = [tf.Variable([0, 0], dtype=tf.int32) for _ in range(2)]

    def remembering(slot):
        def transform(images, seed):
            seeds[slot].assign(tf.cast(seed, tf.int32))
            return images

        return transform

    settings = mv.REGULARIZED.replace(
        steps=2, jitter=0.0, scale=0.0, rotation=0.0, transforms=(remembering(0), remembering(1))
    )
    mv.visualize(trained_model, ob.layer_objectives(trained_model, None, [1]), settings, seed=3)
    assert seeds[0].numpy().tolist() == [3, 1]  # the first gets (seed, step) as it is
    assert seeds[1].numpy().tolist() != seeds[0].numpy().tolist()


# -- one compiled loop, reused -------------------------------------------------------


def test_changing_only_numbers_never_recompiles(trained_model):
    explorer.explore_feature(trained_model, "logits", 3, steps=20)
    traces = ascent.trace_count(trained_model)
    explorer.explore_feature(
        trained_model, "logits", 5, steps=30, tv=0.01, l1=0.3, jitter=1.0, blur_every=4, seed=2
    )
    explorer.explore_feature(trained_model, "logits", 0, steps=10, tv=0.2, blur_every=7)
    explorer.explore_feature(trained_model, "logits", 1, steps=10, tv=0.0, blur_every=0)
    assert ascent.trace_count(trained_model) == traces
    explorer.explore_feature(trained_model, "layer_conv2", 0, steps=10)  # a new structure
    assert ascent.trace_count(trained_model) == traces + 1
    # Switching every prior off at once is a new structure too: the reference's loop.
    explorer.explore_feature(trained_model, "logits", 1, steps=10, tv=0.0, l1=0.0, blur_every=0)
    assert ascent.trace_count(trained_model) == traces + 2


# -- the tutorial's names ---------------------------------------------------------------


def test_reference_aliases_give_the_same_images(trained_model):
    new = mv.optimize_image(trained_model, layer=1, feature=2, steps=5, show_progress=False)
    old = mv.optimize_image(
        trained_model, conv_id=1, feature=2, num_iterations=5, show_progress=False
    )
    np.testing.assert_array_equal(new, old)
    np.testing.assert_array_equal(
        mv.optimize_images(trained_model, conv_id=1, num_iterations=4),
        mv.optimize_images(trained_model, 1, steps=4),
    )
    with pytest.raises(TypeError, match="give layer or its alias conv_id, not both"):
        mv.optimize_images(trained_model, 1, conv_id=1)


# -- the linear-layer rule --------------------------------------------------------------


def test_a_layer_with_its_activation_built_in_is_named_with_the_fix():
    x = keras.Input(shape=(784,))
    net = keras.layers.Reshape((28, 28, 1))(x)
    net = keras.layers.Conv2D(4, 3, activation="relu", name="layer_conv1")(net)
    logits = keras.layers.Dense(10, name="layer_fc_out")(keras.layers.Flatten()(net))
    model = keras.Model(x, logits)
    with pytest.raises(
        ValueError,
        match=r"layer 'layer_conv1' has its activation \(relu\) "
        r"built in.*keras.layers.ReLU\(name='layer_conv1_relu'\)",
    ):
        mv.optimize_images(model, 0, [0], steps=2)


def test_a_layer_without_its_relu_layer_is_named_with_the_fix():
    x = keras.Input(shape=(784,))
    net = keras.layers.Reshape((28, 28, 1))(x)
    net = keras.layers.Conv2D(4, 3, name="layer_conv1")(net)
    net = keras.layers.ReLU(name="relu_of_conv1")(net)
    model = keras.Model(x, keras.layers.Dense(10, name="layer_fc_out")(keras.layers.Flatten()(net)))
    with pytest.raises(
        ValueError,
        match=r"layer 'layer_conv1' has no ReLU layer named "
        r"'layer_conv1_relu'.*ReLU\(name='layer_conv1_relu'\)",
    ):
        mv.optimize_images(model, None, [0], steps=2)


# -- the layout ---------------------------------------------------------------------------

ORDER = [
    "_version",
    "_logs",
    "_checks",
    "_files",
    "_tf",
    "_fast",
    "paths",
    "data",
    "starts",
    "model",
    "robust",
    "networks",
    "layers",
    "objectives",
    "params",
    "transforms",
    "ascent",
    "features",
    "attribution",
    "judges",
    "diagnostics",
    "exercises",
    "plots",
    "explorer",
    "quiz",
    "cli",
    "__init__",
    "__main__",
]


def _package_imports(path: Path):
    """(module, names imported from it) per import; ``from mnist_viz import _fast``
    imports the module ``_fast``."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mnist_viz"):
            names = [alias.name for alias in node.names]
            if node.module == "mnist_viz" and all(name in ORDER for name in names):
                yield from ((name, []) for name in names)
            else:
                module = node.module.split(".")[1] if "." in node.module else "__init__"
                yield module, names


def test_modules_import_only_modules_above_them_and_no_private_names():
    assert sorted(p.stem for p in PACKAGE.glob("*.py")) == sorted(ORDER)
    for path in PACKAGE.glob("*.py"):
        for module, names in _package_imports(path):
            if module == "__init__" and path.stem in ("cli", "explorer", "__main__"):
                continue
            assert ORDER.index(module) < ORDER.index(path.stem), f"{path.stem} imports {module}"
            private = [n for n in names if n.startswith("_") and not module.startswith("_")]
            assert not private, f"{path.stem} imports private {private} from {module}"


def test_the_module_map_names_every_module_in_import_order():
    """The package docstring's map lists every public module, in ORDER's order."""
    import mnist_viz

    listed = [
        line.split()[0]
        for line in mnist_viz.__doc__.splitlines()
        if line.startswith("    ") and not line.startswith("     ")
    ]
    public = [m for m in ORDER if not m.startswith("_")]
    assert listed == public
    assert list(mnist_viz._MODULES) == public  # what `mnist_viz.<module>` loads on first use


def test_every_public_name_is_what_its_module_defines():
    """The package's names load on first use; none may share a submodule's name, or
    importing that submodule would replace the name with the module."""
    import importlib

    import mnist_viz

    assert not set(mnist_viz._WHERE) & set(mnist_viz._MODULES)
    for name, (module, original) in mnist_viz._WHERE.items():
        loaded = importlib.import_module(f"mnist_viz.{module}")
        assert getattr(mnist_viz, name) is getattr(loaded, original), name
    assert callable(mnist_viz.you_be_the_judge)
