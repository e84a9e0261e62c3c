"""Faults lose nothing: interrupted training, broken cache files, killed writers,
and optimisation with no gradient."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import mnist_viz as mv


class Stop(KeyboardInterrupt):
    """A Ctrl-C raised on purpose from the training hook."""


TRAINERS = {  # the adversarial trainer's random starts follow the step count too
    "standard": lambda model, split: mv.Trainer(model, split, report_every=None, steps_per_call=10),
    "adversarial": lambda model, split: mv.AdversarialTrainer(
        model, split, epsilon=0.3, seed=4, report_every=None, steps_per_call=10
    ),
}


@pytest.mark.parametrize("kind", TRAINERS)
def test_interrupted_training_keeps_a_usable_model_and_the_right_count(mnist, kind):
    model = mv.build_cnn(seed=6)
    trainer = TRAINERS[kind](model, mnist.train.with_seed(6))

    def interrupt_at_30(done):
        if done == 30:
            raise Stop

    with pytest.raises(KeyboardInterrupt):
        trainer.optimize(100, on_iteration=interrupt_at_30)
    assert trainer.total_iterations == 30
    assert np.isfinite(model.predict(mnist.test.images[:5], verbose=0)).all()
    trainer.optimize(20)  # continues from 30
    assert trainer.total_iterations == 50

    straight = mv.build_cnn(seed=6)
    TRAINERS[kind](straight, mnist.train.with_seed(6)).optimize(50)
    for a, b in zip(model.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)  # as if never interrupted


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_broken_cached_model_is_reported_and_replaced(
    tmp_path, capsys, monkeypatch, trained_model, damage
):
    monkeypatch.setenv("MNIST_VIZ_CACHE", str(tmp_path))
    recipe = mv.Recipe("stand-in", "a stand-in", conv_filters=(2, 4), fc_units=(8,), iterations=5)
    path = mv.save_network(trained_model, recipe)
    assert path == mv.network_path(recipe) and path.parent == tmp_path
    content = path.read_bytes()
    path.write_bytes(
        {"truncated": content[: len(content) // 2], "garbage": b"not a model" * 50, "empty": b""}[
            damage
        ]
    )
    monkeypatch.setattr(mv.networks, "train", lambda recipe, data, report=True: trained_model)
    model = mv.get_network(recipe, data=object())
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"{path.name} is unreadable" in lines[0] and "retraining" in lines[0]
    assert model is trained_model
    reloaded = mv.load_model(path)  # the cache now holds a good model
    assert reloaded.count_params() == trained_model.count_params()


WRITER = textwrap.dedent("""
    import sys, time
    from mnist_viz._files import atomic_write
    target = sys.argv[1]
    with atomic_write(target) as tmp:
        with open(tmp, "wb") as out:
            for _ in range(10_000):  # far more than it will live to write
                out.write(b"new" * 100_000)
                out.flush()
                time.sleep(0.01)
""")


def test_a_killed_writer_leaves_the_old_file_intact(tmp_path):
    target = tmp_path / "result.npy"
    np.save(target, np.arange(5))
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(target)])
    try:
        deadline = time.monotonic() + 60
        while not any(
            p.name.startswith(".result.") and p.stat().st_size > 1_000_000
            for p in tmp_path.iterdir()
        ):
            assert writer.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(writer.pid, signal.SIGKILL)  # mid-write: no clean-up code runs
    finally:
        writer.wait()
    np.testing.assert_array_equal(np.load(target), np.arange(5))
    leftovers = [p.name for p in tmp_path.iterdir() if p != target]
    assert leftovers and all(name.startswith(".result.") for name in leftovers)


def test_every_writer_goes_through_atomic_write():
    """Each module that writes a file the project later reads uses atomic_write."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for relative in [
        "mnist_viz/data.py",
        "mnist_viz/model.py",
        "mnist_viz/plots.py",
        "mnist_viz/cli.py",
        "tools/make_assignment.py",
        "tools/grade.py",
        "bench/bench.py",
    ]:
        with open(os.path.join(root, relative), encoding="utf-8") as source:
            assert "atomic_write(" in source.read(), relative


def test_reference_ascent_with_no_gradient_stays_finite(capsys):
    from mnist_viz._tf import keras

    x = keras.Input(shape=(784,), name="x")
    blind = keras.Model(
        x, keras.layers.Dense(10, kernel_initializer="zeros", name="layer_fc_out")(x)
    )
    start = mv.noise_images(1, seed=0)
    image = mv.optimize_image(blind, None, 3, steps=3, start=start)
    assert np.isfinite(image).all()
    np.testing.assert_array_equal(image, start[0])
    assert capsys.readouterr().out.count("no gradient") == 3
