"""mnist_viz: train a small CNN on MNIST, then find the images it likes to see.

One module per stage, imports flowing one way:

    data      bytes on disk -> arrays (splits, one-hot labels, class numbers)
    model     arrays        -> a trained network (build, train, evaluate, cache)
    features  a network     -> the images it likes (gradient ascent on the input)
    regularized             -> the same, with objectives, transforms and penalties
    recognizability         -> do the images look like digits to independent judges?
    diagnostics             -> numbers about features (dead, redundant, restarts)
    plots     arrays        -> figures (never computes, never trains)

The names below are the public interface the notebooks use.
"""

from mnist_viz.data import (MNIST, MNISTDataError, MNISTMissingError, Split, img_shape,
                            img_size, img_size_flat, load_mnist, num_channels, num_classes)
from mnist_viz.model import (FAST_RECIPE, REFERENCE_RECIPE, Trainer, build_cnn,
                             cached_model_path, classification_accuracy, default_model_path,
                             load_model, load_or_train_reference, predict_classes, save_model,
                             train_cnn, train_reference_cnn)
from mnist_viz.features import (AscentHistory, ascend, conv_layer_names, dense_layer_names,
                                feature_objective, noise_images, optimize_image, optimize_images,
                                print_progress)
from mnist_viz.regularized import (REFERENCE, REGULARIZED, Objective, Settings, Visualization,
                                   channel, layer_objectives, logit, neuron,
                                   regularized_settings, unit, visualize, visualize_digits,
                                   visualize_layer)
from mnist_viz.recognizability import Judges, Verdict, judge, load_judges, mean_scores
from mnist_viz.plots import (plot_confusion_matrix, plot_example_errors, plot_flowchart,
                             plot_image, plot_image_grid, plot_images, plot_images10,
                             animate_ascent, save_gif)

from mnist_viz._version import __version__

__all__ = [
    # data
    "load_mnist", "MNIST", "Split", "MNISTDataError", "MNISTMissingError",
    "img_size", "img_size_flat", "img_shape", "num_channels", "num_classes",
    # model
    "build_cnn", "Trainer", "predict_classes", "classification_accuracy",
    "save_model", "load_model", "default_model_path", "cached_model_path", "train_reference_cnn", "train_cnn",
    "load_or_train_reference", "FAST_RECIPE", "REFERENCE_RECIPE",
    # features
    "conv_layer_names", "dense_layer_names", "noise_images", "ascend", "AscentHistory", "optimize_image",
    "optimize_images", "print_progress", "feature_objective",
    # regularized
    "Settings", "REGULARIZED", "REFERENCE", "Objective", "Visualization", "channel", "neuron",
    "unit", "logit", "layer_objectives", "regularized_settings", "visualize",
    "visualize_layer", "visualize_digits",
    # recognizability
    "Judges", "Verdict", "load_judges", "judge", "mean_scores",
    # plots
    "plot_images", "plot_images10", "plot_image", "plot_image_grid", "plot_example_errors",
    "plot_confusion_matrix", "plot_flowchart", "animate_ascent", "save_gif",
]
