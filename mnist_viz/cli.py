"""The command line, without opening a notebook: ``python -m mnist_viz gallery ...``
writes the images that one layer's features like; ``python -m mnist_viz attribute
...`` writes which pixels decide the network's answer for real test digits.

Bad arguments end in a one-line message on stderr and exit status 2, never a
traceback; the checks run before any data is read or any network is touched.
The package's modules (and TensorFlow) are imported only after that.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from mnist_viz._checks import DEFAULT_SEED, MAX_SEED
from mnist_viz._files import atomic_write

# The command line answers --help and bad arguments before TensorFlow loads, so
# the package's modules are imported only once the arguments are checked; these
# names match theirs (a test checks that they do).
ATTRIBUTION_METHODS = (
    "saliency",
    "gradient_input",
    "smoothgrad",
    "integrated_gradients",
    "gradcam",
    "occlusion",
)
NETWORKS = ("standard", "robust")
GALLERY_METHODS = ("reference", "regularized", "plain", "plain-shift-l1")
TEST_EPSILON = 0.3
LAYERS = ("layer_conv1", "layer_conv2", "layer_fc1", "logits")
# summary.json's robust accuracy: PGD-20 at TEST_EPSILON on these many test digits.
ROBUST_CHECK_DIGITS = 1000
GRID_COLUMNS = {"layer_conv1": 8, "layer_conv2": 9, "layer_fc1": 16, "logits": 10}


def method_settings(method: str, model, layer: str):
    """A gallery method's settings for ``layer`` of ``model``."""
    from mnist_viz import ascent

    if method == "reference":
        return ascent.REFERENCE
    if method == "plain":
        return ascent.PLAIN.replace(start="mean digit")
    if method == "plain-shift-l1":
        return ascent.plain_shift_l1_settings(model, layer)
    return ascent.regularized_settings(model, layer)


DESCRIPTION = """\
mnist-viz: train a small CNN on MNIST, then find the images it likes to see.

commands:
  gallery    optimise one image per feature of a layer and write them to a folder
  attribute  maps of the pixels that decide the network's answer for test digits

Run "python -m mnist_viz gallery --help" (or attribute --help) for the options.
"""

GALLERY_HELP = """\
Optimise one image for every feature of a layer of the tutorial's trained network
(cached in the checkout's cache/models, the user cache folder when installed, or
$MNIST_VIZ_CACHE; trained first, with progress, if missing) and write to OUT.
--network robust uses the same network adversarially trained (FGSM with a random
start, epsilon 0.33; about 3 minutes the first time), whose gradients point toward
what digits look like.

  <layer>.png     the images as a grid, feature (or digit) number above each
  <layer>.npy     float32 array (n_features, 28, 28) in [0, 1]; row i = feature i,
                  for logits row i = digit i
  summary.json    the network, its clean test accuracy and its accuracy under a
                  20-step PGD attack at epsilon 0.3 (first 1,000 test digits),
                  the method, its settings and, for logits, the recognisability
                  scores of the ten digits (out of 10 for each judge: an
                  independent CNN, a logistic regression on pixels and a robust CNN)

Every file is written to a temporary file first and then renamed, so a crash
never leaves a half-written one behind.

examples:
  python -m mnist_viz gallery --layer logits --method regularized --seed 0 --out gallery
  python -m mnist_viz gallery --layer logits --network robust --method plain-shift-l1 --out robust
"""


ATTRIBUTE_HELP = """\
Compute, for the first N test digits, which pixels decide the answer of the
tutorial's trained network (or, with --network robust, of the adversarially
trained one; each is cached and trained first if missing), and write to OUT:

  <method>.png    each digit (true -> predicted class above it) beside its map,
                  the map's absolute values scaled to [0, 1], darker = more
  <method>.npy    float32 array (N, 28, 28) of the raw maps; row i = test digit i
  summary.json    the network, the method and its settings, the target rule, and
                  each digit's true class, predicted class and target

methods:
  saliency              |gradient of the target logit|
  gradient_input        gradient x pixel value
  smoothgrad            |mean gradient over 25 noisy copies| (noise sd 0.15)
  integrated_gradients  path integral from a blank image, 32 steps
  gradcam               Grad-CAM on a conv layer (--layer, default layer_conv2)
  occlusion             drop of the target logit when a 4x4 square is blanked

Every file is written to a temporary file first and then renamed.

example:
  python -m mnist_viz attribute --method integrated_gradients --digits 20 --out maps
"""
MAX_DIGITS = 10_000
ATTRIBUTE_COLUMNS = 10  # five (digit, map) pairs per row


class _OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr, exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class UsageError(ValueError):
    """A bad command-line value, reported in one line with exit status 2."""


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid seed {text!r}: give a whole number >= 0"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid seed {value}: give a whole number >= 0")
    if value > MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"invalid seed {value}: give a whole number up to {MAX_SEED}"
        )
    return value


def _digit_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid --digits {text!r}: give a whole number from 1 to {MAX_DIGITS}"
        ) from None
    if not 1 <= value <= MAX_DIGITS:
        raise argparse.ArgumentTypeError(
            f"invalid --digits {value}: give a whole number from 1 to {MAX_DIGITS} "
            "(the test set holds 10,000 digits)"
        )
    return value


def _target(text: str) -> str | int:
    if text in ("predicted", "true"):
        return text
    if text.isdigit() and int(text) <= 9:
        return int(text)
    raise argparse.ArgumentTypeError(
        f"invalid --target {text!r}: give predicted, true or a class from 0 to 9"
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser for ``python -m mnist_viz``."""
    parser = _OneLineParser(
        prog="python -m mnist_viz",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="command")
    commands.required = True
    gallery = commands.add_parser(
        "gallery",
        help="write the images a layer's features like to a folder",
        description=GALLERY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gallery.add_argument(
        "--layer", required=True, choices=LAYERS, help="which layer's features: %(choices)s"
    )
    gallery.add_argument(
        "--network",
        default="standard",
        choices=NETWORKS,
        help="standard: the tutorial's network; robust: the same network "
        "adversarially trained (default: %(default)s)",
    )
    gallery.add_argument(
        "--method",
        default="regularized",
        choices=GALLERY_METHODS,
        help="reference: the tutorial's 30 steps of gradient / std from "
        "grey noise; regularized: 200 Adam steps with jitter, scale, "
        "rotation, total variation, L1 and blur; plain: 100 steps of "
        "the gradient scaled to an L2 length of 0.5, from the mean "
        "training digit plus seeded noise of +/-0.05 (a mild prior "
        "from the data), no transforms, no penalties; "
        "plain-shift-l1: the same steps on a copy shifted by up to "
        "one pixel, a new shift each step, with a small L1 charge "
        "for ink (on the robust network it draws handwriting) "
        "(default: %(default)s)",
    )
    gallery.add_argument(
        "--seed",
        type=_seed,
        default=DEFAULT_SEED,
        help="seed for the start images and random transforms (default: %(default)s)",
    )
    gallery.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="output folder; created if its parent exists",
    )
    attribute_command = commands.add_parser(
        "attribute",
        help="write which pixels decide the answer for test digits",
        description=ATTRIBUTE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    attribute_command.add_argument(
        "--method",
        required=True,
        choices=ATTRIBUTION_METHODS,
        help="the attribution method: %(choices)s",
    )
    attribute_command.add_argument(
        "--digits",
        required=True,
        type=_digit_count,
        metavar="N",
        help=f"how many test digits, from the first: 1 to {MAX_DIGITS}",
    )
    attribute_command.add_argument(
        "--target",
        default="predicted",
        type=_target,
        help="the class each map explains: predicted, true, or "
        "one class 0-9 for every digit (default: %(default)s)",
    )
    attribute_command.add_argument(
        "--network",
        default="standard",
        choices=NETWORKS,
        help="standard or robust (default: %(default)s)",
    )
    attribute_command.add_argument(
        "--layer",
        default=None,
        choices=LAYERS,
        help="Grad-CAM's conv layer (default: layer_conv2); only for --method gradcam",
    )
    attribute_command.add_argument(
        "--seed",
        type=_seed,
        default=DEFAULT_SEED,
        help="seed of SmoothGrad's noise (default: %(default)s)",
    )
    attribute_command.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="output folder; created if its parent exists",
    )
    return parser


def check_output_dir(out: Path) -> Path:
    """The output folder, created if its parent exists; writable, or UsageError."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {str(out)!r} is a file; give a folder to write into")
    if not out.exists() and not out.parent.is_dir():
        raise UsageError(
            f"--out {str(out)!r}: its parent folder {str(out.parent)!r} "
            "does not exist; create it first"
        )
    try:
        out.mkdir(exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass  # the only reliable test of writability (root passes os.access)
    except OSError as err:
        raise UsageError(
            f"--out {str(out)!r} is not writable ({err.strerror}); choose a folder you can write to"
        ) from None
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "attribute":
            check_attribution_layer(args.method, args.layer)
        out = check_output_dir(args.out)
    except UsageError as err:
        print(f"{parser.prog} {args.command}: error: {err}", file=sys.stderr)
        return 2
    if args.command == "attribute":
        summary = write_attribution(
            args.method, args.digits, args.target, out, args.network, args.layer, args.seed
        )
    else:
        summary = write_gallery(args.layer, args.method, args.seed, out, args.network)
    print(f"Wrote {', '.join(summary['files'])} to {out}")
    return 0


def write_gallery(layer: str, method: str, seed: int, out: Path, network: str = "standard") -> dict:
    """Optimise the images for ``layer`` of ``network`` with ``method`` and write
    the three files."""
    import numpy as np

    from mnist_viz.ascent import PrintProgress, visualize
    from mnist_viz.data import load_mnist
    from mnist_viz.judges import judge, load_judges
    from mnist_viz.model import classification_accuracy
    from mnist_viz.networks import get_network
    from mnist_viz.objectives import layer_objectives
    from mnist_viz.plots import plot_image_grid
    from mnist_viz.robust import robust_accuracy

    started = time.perf_counter()
    data = load_mnist()
    model = get_network(network, data)
    settings = method_settings(method, model, layer)
    objectives = layer_objectives(model, layer, contrast=settings.contrast)
    n = len(objectives)
    print(
        f"Layer {layer} of the {network} network: optimising {n} images together, "
        f"{settings.steps} steps."
    )
    images = visualize(
        model,
        objectives,
        settings,
        seed,
        callbacks=[PrintProgress(every=50)] if settings.steps > 50 else (),
    ).images
    epsilon = TEST_EPSILON
    test = data.test.images[:ROBUST_CHECK_DIGITS], data.test.cls[:ROBUST_CHECK_DIGITS]
    summary = {
        "layer": layer,
        "method": method,
        "seed": seed,
        "features": n,
        "network": network,
        "model_test_accuracy": classification_accuracy(model, data.test),
        "robust_accuracy": {
            "attack": f"PGD-20, L-infinity epsilon {epsilon}, step "
            f"epsilon/8, first {ROBUST_CHECK_DIGITS} "
            "test digits",
            "accuracy": robust_accuracy(model, *test, epsilon),
        },
        "settings": settings.describe(),
    }
    if settings.start == "mean digit":
        summary["start"] = "mean training digit + uniform noise of +/-0.05"
    if layer == "logits":
        print(
            "Judging the ten digits (independent CNN, logistic regression on pixels "
            "and a robust CNN)."
        )
        summary["recognizability"] = judge(model, load_judges(data), images).summary()
    titles = [str(i) for i in range(n)]
    figure = plot_image_grid(images, GRID_COLUMNS[layer], titles, size=1.0)
    with atomic_write(out / f"{layer}.png") as tmp:
        figure.savefig(tmp, dpi=80)
    with atomic_write(out / f"{layer}.npy") as tmp:
        np.save(tmp, images.astype(np.float32))
    summary["files"] = [f"{layer}.png", f"{layer}.npy", "summary.json"]
    summary["seconds"] = round(time.perf_counter() - started, 1)
    with atomic_write(out / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def check_attribution_layer(method: str, layer: str | None) -> None:
    """--layer names Grad-CAM's conv layer; anything else is a UsageError."""
    if layer is None:
        return
    if method != "gradcam":
        raise UsageError(f"--layer {layer} applies only to --method gradcam, not {method}")
    if not layer.startswith("layer_conv"):
        raise UsageError(
            f"Grad-CAM needs a conv layer with positions; {layer} is a dense "
            "layer. Use --layer layer_conv1 or layer_conv2"
        )


def _attribution_options(method: str, layer: str | None, seed: int) -> dict:
    if method == "gradcam":
        return {"layer": layer or "layer_conv2"}
    if method == "smoothgrad":
        return {"seed": seed}
    return {}


def write_attribution(
    method: str,
    digits: int,
    target: str | int,
    out: Path,
    network: str = "standard",
    layer: str | None = None,
    seed: int = DEFAULT_SEED,
) -> dict:
    """Maps by ``method`` for the first ``digits`` test digits, and the three files."""
    import numpy as np

    from mnist_viz.attribution import attribute, normalize_maps
    from mnist_viz.data import load_mnist
    from mnist_viz.model import predict_classes
    from mnist_viz.networks import get_network
    from mnist_viz.plots import plot_image_grid

    started = time.perf_counter()
    data = load_mnist()
    model = get_network(network, data)
    images, true = data.test.images[:digits], data.test.cls[:digits]
    predicted = predict_classes(model, images)
    targets = {"predicted": predicted, "true": true}.get(target)
    if targets is None:
        targets = np.full(digits, target)
    options = _attribution_options(method, layer, seed)
    print(f"{method} maps for {digits} test digits on the {network} network.")
    maps = attribute(model, images, targets, method, **options).astype(np.float32)
    shown = min(digits, 50)
    panels = np.empty((2 * shown, 28, 28), np.float32)
    panels[0::2] = images[:shown].reshape(-1, 28, 28)
    panels[1::2] = normalize_maps(maps[:shown])
    titles = [
        title
        for i in range(shown)
        for title in (f"{true[i]} -> {predicted[i]}", f"map for {targets[i]}")
    ]
    figure = plot_image_grid(panels, ATTRIBUTE_COLUMNS, titles, size=1.0)
    with atomic_write(out / f"{method}.png") as tmp:
        figure.savefig(tmp, dpi=80)
    with atomic_write(out / f"{method}.npy") as tmp:
        np.save(tmp, maps)
    summary = {
        "method": method,
        "options": options,
        "network": network,
        "digits": digits,
        "target": target,
        "shown_in_png": shown,
        "true": true.tolist(),
        "predicted": predicted.tolist(),
        "targets": np.asarray(targets).tolist(),
        "files": [f"{method}.png", f"{method}.npy", "summary.json"],
        "seconds": round(time.perf_counter() - started, 1),
    }
    with atomic_write(out / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
    return summary
