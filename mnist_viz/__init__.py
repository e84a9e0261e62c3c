"""mnist_viz: train a small CNN on MNIST, then find the images it likes to see.

One module per stage; a module imports only modules listed above it:

    paths        where data and trained networks live (checkout or user cache)
    data         bytes on disk -> checked arrays (splits, one-hot labels, classes)
    model        arrays -> a trained network (build, train, evaluate, keyed cache)
    layers       which layers a network has, named one way (index, name, "logits")
    objectives   what an ascent maximises: per-image features, diversity, your own
    params       what an ascent changes and where it starts: pixels or a Fourier
                 spectrum; blank, grey noise or the mean training digit
    transforms   what happens to the image on its way in: moves, penalties, blur
    ascent       the one compiled engine, its settings, presets and callbacks
    features     the tutorial's names (optimize_image(s), ascend) over the engine
    robust       adversarial examples (PGD) and a network trained to resist them
    attribution  which pixels decide for one real digit, and sanity checks of maps
    judges       machine readers, distance to real digits, how a drawing is made
    diagnostics  numbers about features (dead, redundant, restarts, seeds)
    exercises    the self-checks of notebook 02's exercises
    plots        arrays -> figures (never computes, never trains)
    explorer     widgets: pick a feature and priors, see its image
    quiz         you be the judge: read generated digits blind, beside the judges
    cli          python -m mnist_viz gallery | attribute

The names below are the public interface the notebooks use.
"""

from mnist_viz.data import (MNIST, MNISTDataError, MNISTMissingError, Split, img_shape,
                            img_size, img_size_flat, load_mnist, num_channels, num_classes)
from mnist_viz.model import (FAST_RECIPE, REFERENCE_RECIPE, Trainer, build_cnn,
                             cached_model_path, classification_accuracy, default_model_path,
                             load_model, load_or_train_cnn, load_or_train_reference,
                             predict_classes, save_model,
                             train_cnn, train_reference_cnn)
from mnist_viz.layers import conv_layer_names, dense_layer_names
from mnist_viz.objectives import (Objective, channel, custom, diversity, evaluate,
                                  layer_objectives, logit, neuron, per_image, unit)
from mnist_viz.params import DEFAULT_SEED, PARAMETERIZATIONS, noise_images
from mnist_viz.transforms import PENALTIES, random_affine
from mnist_viz.ascent import (FOURIER, PLAIN, PLAIN_SHIFT_L1, REFERENCE, REGULARIZED,
                              AscentHistory, AscentState, Callback, PrintProgress, PrintSteps,
                              RecordFrames, Settings, Visualization, plain_shift_l1_settings,
                              print_progress, regularized_settings, visualize, visualize_digits,
                              visualize_layer)
from mnist_viz.features import ascend, feature_objective, optimize_image, optimize_images
from mnist_viz.robust import (AdversarialTrainer, ink_added, load_network, load_or_train_robust,
                              mean_digit, neutral_starts, pgd_attack, robust_accuracy,
                              train_robust_cnn)
from mnist_viz.attribution import METHODS as ATTRIBUTION_METHODS, attribute, normalize_maps
from mnist_viz.judges import (JUDGES, Judges, Verdict, Yardstick, clean_background, judge,
                              load_judges, mean_scores, real_digit_yardstick, score_restarts,
                              score_table, solid_ink)
from mnist_viz.quiz import quiz, quiz_sheet, reading_rates
from mnist_viz.plots import (plot_confusion_matrix, plot_example_errors, plot_flowchart,
                             plot_arrays, plot_image, plot_image_grid, plot_images, plot_images10,
                             plot_ascent_result, animate_ascent, save_gif)

from mnist_viz._version import __version__

__all__ = [
    # data
    "load_mnist", "MNIST", "Split", "MNISTDataError", "MNISTMissingError",
    "img_size", "img_size_flat", "img_shape", "num_channels", "num_classes",
    # model
    "build_cnn", "Trainer", "predict_classes", "classification_accuracy",
    "save_model", "load_model", "default_model_path", "cached_model_path",
    "train_reference_cnn", "train_cnn",
    "load_or_train_reference", "load_or_train_cnn", "FAST_RECIPE", "REFERENCE_RECIPE",
    # layers, objectives, params, transforms
    "conv_layer_names", "dense_layer_names", "Objective", "channel", "neuron", "unit", "logit",
    "layer_objectives", "per_image", "diversity", "custom", "evaluate", "DEFAULT_SEED",
    "PARAMETERIZATIONS", "noise_images", "PENALTIES", "random_affine",
    # ascent
    "Settings", "REGULARIZED", "REFERENCE", "FOURIER", "PLAIN", "PLAIN_SHIFT_L1",
    "plain_shift_l1_settings", "Visualization", "AscentHistory",
    "AscentState",
    "Callback", "PrintProgress", "PrintSteps", "RecordFrames", "print_progress",
    "regularized_settings", "visualize", "visualize_layer", "visualize_digits",
    # features (the tutorial's names)
    "ascend", "optimize_image", "optimize_images", "feature_objective",
    # robust
    "pgd_attack", "robust_accuracy", "AdversarialTrainer", "train_robust_cnn",
    "load_or_train_robust", "load_network", "mean_digit", "neutral_starts", "ink_added",
    # attribution
    "ATTRIBUTION_METHODS", "attribute", "normalize_maps",
    # judges
    "JUDGES", "Judges", "Verdict", "load_judges", "judge", "mean_scores", "score_restarts",
    "score_table", "Yardstick", "real_digit_yardstick", "solid_ink", "clean_background",
    # quiz
    "quiz", "quiz_sheet", "reading_rates",
    # plots
    "plot_images", "plot_images10", "plot_image", "plot_image_grid", "plot_arrays", "plot_example_errors",
    "plot_confusion_matrix", "plot_flowchart", "plot_ascent_result", "animate_ascent", "save_gif",
]
