"""The model stage: the network's shape, the continuing trainer, the recipes that
train it, evaluation, caching."""

import dataclasses
import json
import math

import numpy as np
import pytest

import mnist_viz as mv
from mnist_viz import networks, robust
from mnist_viz._tf import keras


def test_reference_network_shape_and_size():
    model = mv.build_cnn()
    assert model.count_params() == 242_062
    assert model.output_shape == (None, 10)
    assert [layer.name for layer in model.layers if layer.weights] == [
        "layer_conv1",
        "layer_conv2",
        "layer_fc1",
        "layer_fc_out",
    ]
    assert model.get_layer("layer_conv1").output.shape[1:] == (28, 28, 16)
    assert model.get_layer("layer_conv2").output.shape[1:] == (14, 14, 36)
    assert model.get_layer("flatten").output.shape[1:] == (7 * 7 * 36,)


def test_named_layers_are_linear_and_relu_is_separate():
    model = mv.build_cnn()
    for name in ["layer_conv1", "layer_conv2", "layer_fc1"]:
        assert model.get_layer(name).activation.__name__ == "linear"
        assert model.get_layer(f"{name}_relu") is not None


def test_other_sizes_build():
    model = mv.build_cnn(conv_filters=(8, 16, 32), fc_units=(64, 32))
    assert model.get_layer("layer_conv3").output.shape[-1] == 32
    assert model.get_layer("layer_fc2").output.shape[-1] == 32


def test_same_seed_same_weights():
    a, b = mv.build_cnn(seed=3), mv.build_cnn(seed=3)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    c = mv.build_cnn(seed=4)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


def test_trainer_continues_where_it_stopped(mnist, capsys):
    model = mv.build_cnn(seed=2)
    trainer = mv.Trainer(model, mnist.train, report_every=40)
    trainer.optimize(50)
    trainer.optimize(50)
    assert trainer.total_iterations == 100
    assert int(trainer.optimizer.iterations.numpy()) == 100
    printed = [line for line in capsys.readouterr().out.splitlines() if line]
    # Reports at iterations 1, 41, 81 of the running total, across both calls.
    assert [line.split(",")[0] for line in printed] == [
        "Optimization iteration:      1",
        "Optimization iteration:     41",
        "Optimization iteration:     81",
    ]


def test_steps_per_call_changes_speed_not_results(mnist):
    """Several steps per compiled call train on the same batches as one per call."""
    weights = []
    for steps_per_call in (1, 7, 50):
        model = mv.build_cnn(seed=5)
        trainer = mv.Trainer(
            model, mnist.train.with_seed(5), report_every=None, steps_per_call=steps_per_call
        )
        trainer.optimize(60)
        assert trainer.total_iterations == 60
        weights.append(model.get_weights())
    for other in weights[1:]:
        for a, b in zip(weights[0], other):
            np.testing.assert_allclose(a, b, atol=1e-6)


def test_on_iteration_sees_each_compiled_call(mnist):
    trainer = mv.Trainer(mv.build_cnn(seed=0), mnist.train, report_every=None, steps_per_call=20)
    seen = []
    trainer.optimize(50, on_iteration=seen.append)
    assert seen == [20, 40, 50]


class _Untrained(mv.Trainer):
    """A :class:`~mnist_viz.Trainer` that keeps itself and the steps asked of it, and takes none."""

    made = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked = 0
        _Untrained.made.append(self)

    def optimize(self, num_iterations, on_iteration=None):
        self.asked += num_iterations


def _set_up_by(recipe, data, monkeypatch):
    """The trainer that ``networks.train`` sets up for ``recipe``, without training."""
    _Untrained.made = []
    monkeypatch.setattr(networks, "Trainer", _Untrained)
    networks.train(recipe, data, report=False)
    (trainer,) = _Untrained.made
    return trainer


def test_fast_recipe_decays_along_a_cosine_and_the_tutorials_is_constant(mnist, monkeypatch):
    fast = _set_up_by(mv.RECIPES["fast"], mnist, monkeypatch)
    schedule = fast.optimizer._learning_rate
    assert fast.batch_size == 128 and fast.asked == 1500
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)
    assert np.isclose(float(schedule(0)), 4e-3) and float(schedule(1500)) < 1e-9
    standard = _set_up_by(mv.RECIPES["standard"], mnist, monkeypatch)
    assert standard.batch_size == 64 and standard.asked == 10_000
    assert not isinstance(
        standard.optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule
    )
    assert np.isclose(float(standard.optimizer.learning_rate), 1e-4)


def test_an_adversarial_recipes_cosine_spans_all_its_epochs(mnist, monkeypatch):
    made, epochs = [], []

    class Recorded(robust.AdversarialTrainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(networks, "AdversarialTrainer", Recorded)
    monkeypatch.setattr(networks, "train_adversarially", lambda *args: epochs.append(args))
    recipe = mv.RECIPES["robust"]
    networks.train(recipe, mnist, report=False)
    (trainer,) = made
    ((_, validation, n_epochs, ramp, _),) = epochs
    assert (n_epochs, ramp, trainer.full_epsilon) == (4, 0.5, 0.33)
    assert validation is mnist.validation
    steps = 4 * math.ceil(len(mnist.train) / 128)
    assert recipe.steps(len(mnist.train)) == steps
    schedule = trainer.optimizer._learning_rate
    assert np.isclose(float(schedule(0)), 5e-3)
    assert float(schedule(steps)) < 1e-9 < float(schedule(steps - 50))


@pytest.mark.parametrize(
    "changes, error, message",
    [
        ({"schedule": "linear"}, ValueError, "schedule must be one of"),
        ({"iterations": 0}, ValueError, "iterations must be >= 1"),
        ({"iterations": 1.5}, TypeError, "iterations must be a whole number"),
        ({"learning_rate": 0}, ValueError, "learning_rate must be a finite number > 0"),
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"seed": -1}, ValueError, "seed must be >= 0"),
        ({"kernel_size": 0}, ValueError, "kernel_size must be >= 1"),
        ({"conv_filters": 16}, TypeError, "conv_filters must be a sequence of layer sizes"),
        ({"fc_units": (128, 0)}, ValueError, "fc_units"),
        ({"iterations": None}, ValueError, "not both or neither"),  # neither
        (
            {"adversarial": mv.Adversarial(epsilon=0.3, epochs=1)},  # both
            ValueError,
            "not both or neither",
        ),
    ],
)
def test_bad_recipes_are_rejected(changes, error, message):
    with pytest.raises(error, match=message):
        mv.RECIPES["fast"].replace(**changes)
    with pytest.raises(error, match=message):
        mv.Recipe("new", "made directly", **changes)


def test_a_recipe_keeps_layer_sizes_as_tuples_and_is_frozen():
    recipe = mv.Recipe("lists", "layer sizes given as lists", conv_filters=[2, 4], fc_units=[8])
    assert recipe.conv_filters == (2, 4) and recipe.fc_units == (8,)
    assert recipe == recipe.replace(conv_filters=(2, 4))  # lists and tuples make one recipe
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.iterations = 10
    assert recipe.replace(seed=3).seed == 3 and recipe.seed == 0


def test_the_table_of_recipes_names_each_by_its_name_and_none_twice():
    assert {"standard", "fast", "robust", "judge", "robust judge"} <= set(mv.RECIPES)
    for name, recipe in mv.RECIPES.items():
        assert isinstance(recipe, mv.Recipe) and recipe.name == name and recipe.description
    made_by = [json.dumps(r.made_by(), sort_keys=True) for r in mv.RECIPES.values()]
    assert len(set(made_by)) == len(made_by)  # no two names for one network
    paths = [mv.network_path(name) for name in mv.RECIPES]
    assert len(set(paths)) == len(paths)


def test_the_tutorials_network_and_the_judges_differ():
    standard, judge = mv.RECIPES["standard"], mv.RECIPES["judge"]
    assert (standard.conv_filters, standard.fc_units, standard.kernel_size) == ((16, 36), (128,), 5)
    assert judge.seed != standard.seed
    assert (judge.conv_filters, judge.kernel_size) != (standard.conv_filters, standard.kernel_size)
    robust_judge = mv.RECIPES["robust judge"]
    assert robust_judge.made_by()["blobs"] == robust.BLOBS  # its blobs are part of its cache key
    assert "blobs" not in mv.RECIPES["robust"].made_by()


def test_training_improves_accuracy(mnist, trained_model):
    untrained = mv.classification_accuracy(mv.build_cnn(seed=1), mnist.test)
    trained = mv.classification_accuracy(trained_model, mnist.test)
    assert untrained < 0.2
    assert trained > 0.85


def test_predict_classes_shape_and_batches(mnist, trained_model):
    images = mnist.test.images[:300]
    a = mv.predict_classes(trained_model, images, batch_size=256)
    b = mv.predict_classes(trained_model, images.reshape(-1, 28, 28), batch_size=7)
    assert a.shape == (300,) and a.dtype.kind == "i"
    np.testing.assert_array_equal(a, b)


def test_save_and_load_round_trip(tmp_path, mnist, trained_model):
    path = mv.save_model(trained_model, tmp_path / "cnn.keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cnn.keras"]
    assert path.stat().st_mode & 0o044 == 0o044
    loaded = mv.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(mnist.test.images[:20], verbose=0),
        trained_model.predict(mnist.test.images[:20], verbose=0),
        rtol=1e-5,
        atol=1e-5,
    )


def test_load_missing_model_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no saved model at .*none\.keras"):
        mv.load_model(tmp_path / "none.keras")


@pytest.mark.parametrize(
    "kwargs, error, text",
    [
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"learning_rate": -1e-4}, ValueError, "learning_rate must be a finite number > 0"),
        ({"learning_rate": float("nan")}, ValueError, "learning_rate must be a finite number > 0"),
        ({"learning_rate": "fast"}, TypeError, "learning_rate must be a positive number"),
    ],
)
def test_trainer_rejects_bad_settings(mnist, kwargs, error, text):
    with pytest.raises(error, match=text):
        mv.Trainer(mv.build_cnn(), mnist.train, **kwargs)


@pytest.mark.parametrize(
    "kwargs, error, text",
    [
        ({"conv_filters": (16, 0)}, ValueError, r"conv_filters\[1\] must be >= 1"),
        ({"conv_filters": 16}, TypeError, "conv_filters must be a sequence"),
        ({"fc_units": (12.5,)}, TypeError, r"fc_units\[0\] must be a whole number"),
    ],
)
def test_build_rejects_bad_sizes(kwargs, error, text):
    with pytest.raises(error, match=text):
        mv.build_cnn(**kwargs)
