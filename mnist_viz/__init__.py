"""mnist_viz: train a small CNN on MNIST, then find the images it likes to see.

One module per stage; a module imports only modules listed above it:

    paths        where data and trained networks live (checkout or user cache)
    data         bytes on disk -> checked arrays (splits, one-hot labels, classes)
    starts       where an ascent starts (noise, the mean digit) and the ink it added
    model        the tutorial's network and its training (build_cnn, Trainer),
                 evaluation, saving and loading
    robust       adversarial examples (PGD) and adversarial training
    networks     every network by name: a table of recipes, get_network (cached)
    layers       which layers a network has, named one way (index, name, "logits")
    objectives   what an ascent maximises: per-image features, diversity, your own
    params       what an ascent changes: pixels or a Fourier spectrum
    transforms   what happens to the image on its way in: moves, penalties, blur
    ascent       the one compiled engine, its settings, presets and callbacks
    features     the tutorial's names (optimize_image(s), ascend) over the engine
    attribution  which pixels decide for one real digit, and sanity checks of maps
    judges       machine readers, distance to real digits, how a drawing is made
    diagnostics  numbers about features (dead, redundant, restarts, seeds)
    exercises    the self-checks of notebook 02's exercises
    plots        arrays -> figures (never computes, never trains)
    explorer     widgets: pick a feature and priors, see its image
    quiz         you be the judge: read generated digits blind, beside the judges
    cli          python -m mnist_viz gallery | attribute

The names below are the public interface the notebooks use. Each is imported from
its module on first use, so ``import mnist_viz`` is quick and ``python -m mnist_viz
--help`` answers before TensorFlow loads.
"""

import importlib

import mnist_viz._logs  # noqa: F401 (quiets TensorFlow's start-up lines)
from mnist_viz._version import __version__

# module -> the public names it gives the package (an alias as "name=original").
_EXPORTS = {
    "data": [
        "load_mnist",
        "MNIST",
        "Split",
        "MNISTDataError",
        "MNISTMissingError",
        "img_size",
        "img_size_flat",
        "img_shape",
        "num_channels",
        "num_classes",
    ],
    "model": [
        "build_cnn",
        "Trainer",
        "predict_classes",
        "classification_accuracy",
        "save_model",
        "load_model",
    ],
    "robust": ["pgd_attack", "robust_accuracy", "AdversarialTrainer"],
    "networks": ["Recipe", "Adversarial", "RECIPES", "get_network", "save_network", "network_path"],
    "layers": ["conv_layer_names", "dense_layer_names"],
    "objectives": [
        "Objective",
        "channel",
        "neuron",
        "unit",
        "logit",
        "layer_objectives",
        "per_image",
        "diversity",
        "custom",
        "evaluate",
    ],
    "starts": ["DEFAULT_SEED", "noise_images", "mean_digit", "neutral_starts", "ink_added"],
    "params": ["PARAMETERIZATIONS"],
    "transforms": ["PENALTIES", "random_affine"],
    "ascent": [
        "Settings",
        "REGULARIZED",
        "REFERENCE",
        "FOURIER",
        "PLAIN",
        "PLAIN_SHIFT_L1",
        "plain_shift_l1_settings",
        "Visualization",
        "AscentHistory",
        "AscentState",
        "Callback",
        "PrintProgress",
        "PrintSteps",
        "RecordFrames",
        "print_progress",
        "regularized_settings",
        "visualize",
        "visualize_layer",
        "visualize_digits",
    ],
    "features": ["ascend", "optimize_image", "optimize_images", "feature_objective"],
    "attribution": ["ATTRIBUTION_METHODS=METHODS", "attribute", "normalize_maps"],
    "judges": [
        "JUDGES",
        "Judges",
        "Verdict",
        "load_judges",
        "judge",
        "mean_scores",
        "score_restarts",
        "score_table",
        "Yardstick",
        "real_digit_yardstick",
        "solid_ink",
        "clean_background",
    ],
    "quiz": ["you_be_the_judge", "quiz_sheet", "reading_rates"],
    "plots": [
        "plot_images",
        "plot_images10",
        "plot_image",
        "plot_image_grid",
        "plot_arrays",
        "plot_example_errors",
        "plot_confusion_matrix",
        "plot_flowchart",
        "plot_ascent_result",
        "animate_ascent",
        "save_gif",
    ],
}
_WHERE = {
    entry.split("=")[0]: (module, entry.split("=")[-1])
    for module, entries in _EXPORTS.items()
    for entry in entries
}
_MODULES = (
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
)

__all__ = [*_WHERE, "__version__"]


def __getattr__(name: str):
    if name in _WHERE:
        module, original = _WHERE[name]
        value = getattr(importlib.import_module(f"mnist_viz.{module}"), original)
    elif name in _MODULES:
        value = importlib.import_module(f"mnist_viz.{name}")
    else:
        raise AttributeError(f"module 'mnist_viz' has no attribute {name!r}")
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_MODULES})
