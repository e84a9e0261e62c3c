"""The command line: galleries and attribution maps written to a folder (bad
arguments: test_bad_input.py)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import mnist_viz as mv
from mnist_viz import cli, robust


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory, trained_model):
    """A cache folder holding the quickly trained test model as every network: the
    tutorial's, the robust one and the judges."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MNIST_VIZ_CACHE", str(folder))
        for name in ("standard", "robust", "judge", "robust judge"):
            mv.save_network(trained_model, name)
    return folder


def _run(args, cache):
    os.environ["MNIST_VIZ_CACHE"] = str(cache)
    try:
        return cli.main(args)
    finally:
        del os.environ["MNIST_VIZ_CACHE"]


@pytest.mark.parametrize(
    "layer, n, method", [("layer_conv1", 16, "reference"), ("layer_fc1", 128, "regularized")]
)
def test_gallery_writes_images_array_and_summary(tmp_path, model_cache, layer, n, method):
    out = tmp_path / "gallery"  # created by the command, its parent exists
    assert (
        _run(
            ["gallery", "--layer", layer, "--method", method, "--seed", "3", "--out", str(out)],
            model_cache,
        )
        == 0
    )
    images = np.load(out / f"{layer}.npy")
    assert images.shape == (n, 28, 28) and images.dtype == np.float32
    assert 0 <= images.min() and images.max() <= 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["layer"] == layer and summary["method"] == method and summary["seed"] == 3
    assert summary["features"] == n and 0.5 < summary["model_test_accuracy"] <= 1
    assert (out / f"{layer}.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in out.iterdir()) == sorted(summary["files"])


@pytest.mark.slow  # a whole gallery run: kept out of make check
def test_logits_gallery_is_judged(tmp_path, model_cache):
    args = ["gallery", "--layer", "logits", "--seed", "1", "--out"]
    assert _run(args + [str(tmp_path / "a")], model_cache) == 0
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["settings"]["steps"] == 200 and summary["method"] == "regularized"
    scores = summary["recognizability"]
    assert scores["images"] == 10 and 0 <= scores["cnn_judge_correct"] <= 10
    assert 0 <= scores["pixel_judge_correct"] <= 10
    digits = np.load(tmp_path / "a" / "logits.npy")
    assert digits.shape == (10, 28, 28) and digits.max() > 0.5  # ink was drawn


@pytest.mark.slow  # a whole gallery run: kept out of make check
def test_the_robust_network_with_plain_steps(tmp_path, model_cache, trained_model, mnist):
    assert (
        _run(
            [
                "gallery",
                "--layer",
                "logits",
                "--network",
                "robust",
                "--method",
                "plain",
                "--seed",
                "2",
                "--out",
                str(tmp_path),
            ],
            model_cache,
        )
        == 0
    )
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["network"] == "robust" and summary["method"] == "plain"
    assert summary["settings"]["update"] == "l2" and summary["settings"]["steps"] == 100
    assert summary["start"].startswith("mean training digit")
    attacked = summary["robust_accuracy"]
    assert "PGD-20" in attacked["attack"] and "epsilon 0.3" in attacked["attack"]
    expected = robust.robust_accuracy(
        trained_model, mnist.test.images[:1000], mnist.test.cls[:1000], 0.3
    )
    assert attacked["accuracy"] == pytest.approx(expected)
    assert set(summary["recognizability"]) >= {
        "cnn_judge_correct",
        "pixel_judge_correct",
        "robust_judge_correct",
    }
    digits = np.load(tmp_path / "logits.npy")
    start = mv.neutral_starts(mv.mean_digit(mnist), 10, seed=2)
    assert np.abs(digits - start).max() > 0.1  # the steps moved the mean digit


@pytest.mark.slow  # a whole gallery run: kept out of make check
def test_plain_shift_l1_scales_its_ink_charge_to_the_layer(tmp_path, model_cache, mnist):
    assert (
        _run(
            [
                "gallery",
                "--layer",
                "logits",
                "--network",
                "robust",
                "--method",
                "plain-shift-l1",
                "--seed",
                "2",
                "--out",
                str(tmp_path / "a"),
            ],
            model_cache,
        )
        == 0
    )
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["method"] == "plain-shift-l1"
    settings = summary["settings"]
    assert (settings["update"], settings["jitter"], settings["l1"]) == ("l2", 1.0, 0.02)
    assert settings["start"] == "mean digit" and summary["start"].startswith("mean training")
    scores = summary["recognizability"]
    assert 0 <= scores["solid_ink_mean"] <= 1 and 0 <= scores["clean_background_mean"] <= 1
    assert (
        _run(
            [
                "gallery",
                "--layer",
                "layer_conv2",
                "--method",
                "plain-shift-l1",
                "--out",
                str(tmp_path / "b"),
            ],
            model_cache,
        )
        == 0
    )
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["settings"]["l1"] == mv.ascent.PLAIN_SHIFT_L1_CONV.l1 < 0.02


@pytest.mark.parametrize("method, target", [("gradcam", "true"), ("occlusion", "3")])
def test_attribute_writes_maps_grid_and_summary(tmp_path, model_cache, mnist, method, target):
    out = tmp_path / "maps"
    assert (
        _run(
            [
                "attribute",
                "--method",
                method,
                "--digits",
                "7",
                "--target",
                target,
                "--out",
                str(out),
            ],
            model_cache,
        )
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{method}.png", f"{method}.npy", "summary.json"]
    )
    maps = np.load(out / f"{method}.npy")
    assert maps.shape == (7, 28, 28) and maps.dtype == np.float32 and np.isfinite(maps).all()
    summary = json.loads((out / "summary.json").read_text())
    expected = mnist.test.cls[:7].tolist() if target == "true" else [3] * 7
    assert summary["targets"] == expected and summary["true"] == mnist.test.cls[:7].tolist()
    assert summary["method"] == method and summary["network"] == "standard"
    again = mv.attribute(
        mv.load_model(model_cache / mv.network_path("standard").name),
        mnist.test.images[:7],
        expected,
        method,
    )
    np.testing.assert_allclose(maps, again, atol=1e-5)


def test_module_help_and_errors_from_a_real_process():
    run = [sys.executable, "-m", "mnist_viz"]
    helped = subprocess.run(run + ["gallery", "--help"], capture_output=True, text=True)
    assert helped.returncode == 0
    text = " ".join(helped.stdout.split())  # argparse wraps lines
    for word in (
        "--layer",
        "--method",
        "--seed",
        "--out",
        "summary.json",
        "logits",
        "--network",
        "plain: 100 steps",
        "L2 length of 0.5",
        "mean training digit",
        "plain-shift-l1: the same steps",
    ):
        assert word in text
    top = subprocess.run(run + ["--help"], capture_output=True, text=True)
    assert top.returncode == 0 and "gallery" in top.stdout and "attribute" in top.stdout
    helped = subprocess.run(run + ["attribute", "--help"], capture_output=True, text=True)
    text = " ".join(helped.stdout.split())
    for word in (
        "--method",
        "--digits",
        "--target",
        "--network",
        "--layer",
        "--out",
        "integrated_gradients",
        "4x4 square",
        "(N, 28, 28)",
    ):
        assert word in text
    bad = subprocess.run(
        run + ["gallery", "--layer", "conv9", "--out", "x"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "Traceback" not in bad.stderr


def test_help_and_bad_arguments_answer_before_tensorflow_loads():
    code = (
        "import sys\nfrom mnist_viz import cli\n"
        "for argv in (['--help'], ['gallery', '--help'], ['gallery', '--layer', 'x']):\n"
        "    try:\n        cli.main(argv)\n    except SystemExit:\n        pass\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip().splitlines()[-1] == "False False", done.stderr[-500:]


def test_the_command_lines_names_match_the_package():
    from mnist_viz import attribution, robust

    assert cli.ATTRIBUTION_METHODS == attribution.METHODS
    assert cli.NETWORKS and all(network in mv.RECIPES for network in cli.NETWORKS)
    assert cli.TEST_EPSILON == robust.TEST_EPSILON
    assert cli.DEFAULT_SEED == mv.DEFAULT_SEED
    model = mv.build_cnn(seed=0)
    assert (
        cli.method_settings("plain-shift-l1", model, "layer_fc1") == mv.ascent.PLAIN_SHIFT_L1_DENSE
    )
    assert cli.method_settings("regularized", model, "logits") == mv.REGULARIZED
    assert cli.method_settings("reference", model, "logits") == mv.REFERENCE
