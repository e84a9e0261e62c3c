"""``make bench``: how fast is mnist-viz, side by side with the alternatives?

Everything is measured in one run on one machine, each figure the median of
several repeats, and printed as Markdown (also written whole to bench/RESULTS.md):

1. training throughput: our Trainer against Keras ``model.fit`` and a plain
   one-step-per-call ``tf.function`` loop, and as a fraction of this machine's
   float32 matmul speed (the roofline);
2. time until the test accuracy first reaches 99.0%, for the tutorial's recipe
   and the fast recipe;
3. feature visualisation: the reference's eager loop, tf-keras-vis, the loops
   from before the one engine (bench/legacy_ascent.py) and the engine, at equal
   steps; all 190 features in one call; the explorer's single feature; the
   diversity and Fourier runs of notebook 03; the speed tricks of
   mnist_viz/_fast.py on and off;
4. adversarial training steps beside standard ones, the PGD attack, and ten
   handwritten digits on the robust network (plain steps against PLAIN_SHIFT_L1);
5. attribution: the six methods on 1,000 test digits, and tf-keras-vis's
   Saliency (plain and SmoothGrad) and Gradcam at equal work;
6. whole runs: each notebook top to bottom, the book, the assignment and the
   grading of one submission, and ``make test``.

Not a test: nothing here fails because the machine is slow.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import mnist_viz as mv
from mnist_viz._files import atomic_write
from mnist_viz._tf import keras, tf

ROOT = Path(__file__).resolve().parent.parent
TARGET_ACCURACY = 0.99


def median_time(run, repeats: int) -> float:
    """The median wall time of ``run()`` over ``repeats`` calls."""
    return interleaved_medians({"run": run}, repeats)["run"]


def interleaved_medians(runs: dict, repeats: int) -> dict:
    """Median wall time of each ``runs[name]()``, the repeats taken in turns
    (a, b, c, a, b, c, ...) so that a slow patch of a shared machine hits all alike."""
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


# -- 1. training throughput --------------------------------------------------


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of a large float32 matrix product, the machine's practical roofline."""
    a = tf.random.stateless_uniform((size, size), (1, 2))
    b = tf.random.stateless_uniform((size, size), (3, 4))
    product = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    product()  # compile
    seconds = median_time(lambda: product().numpy(), repeats)
    return 2 * size**3 / seconds / 1e9


def training_flops_per_image(model: keras.Model) -> float:
    """FLOPs to train on one image: the forward pass from the layer shapes (a
    multiply-add counts 2), times 3 for the forward and the two backward products."""
    forward = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            height, width, filters = layer.output.shape[1:]
            kernel_h, kernel_w = layer.kernel_size
            forward += 2 * height * width * filters * kernel_h * kernel_w * layer.input.shape[-1]
        elif isinstance(layer, keras.layers.Dense):
            forward += 2 * layer.input.shape[-1] * layer.units
    return 3.0 * forward


def plain_step_loop(model: keras.Model, split: mv.Split, batch_size: int, learning_rate: float):
    """The textbook custom loop: one compiled step per call, NumPy batches fed in."""
    optimizer = keras.optimizers.Adam(learning_rate)
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(images, labels):
        with tf.GradientTape() as tape:
            loss = loss_fn(labels, model(images, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))

    def run(iterations):
        for _ in range(iterations):
            step(*split.next_batch(batch_size))

    return run


def keras_fit(
    model: keras.Model,
    split: mv.Split,
    batch_size: int,
    learning_rate: float,
    steps_per_execution: int,
):
    """Keras' own loop on the same model, batch size and data, fed by the
    recommended tf.data pipeline (built once: shuffled, repeated, prefetched)."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        steps_per_execution=steps_per_execution,
    )
    dataset = (
        tf.data.Dataset.from_tensor_slices((split.images, split.labels))
        .shuffle(len(split), seed=0)
        .repeat()
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )

    def run(iterations):
        model.fit(dataset, epochs=1, steps_per_epoch=iterations, shuffle=False, verbose=0)

    return run


def ours(
    model: keras.Model, split: mv.Split, batch_size: int, learning_rate: float, steps_per_call: int
):
    trainer = mv.Trainer(
        model, split, batch_size, learning_rate, report_every=None, steps_per_call=steps_per_call
    )
    return trainer.optimize


def training_throughput(data: mv.MNIST, iterations: int, repeats: int) -> tuple[list, dict]:
    recipe = mv.RECIPES["standard"]
    batch, rate = recipe.batch_size, recipe.learning_rate
    loops = {
        "plain `tf.function` loop, one step per call, NumPy batches": lambda m, s: plain_step_loop(
            m, s, batch, rate
        ),
        "Keras `model.fit`": lambda m, s: keras_fit(m, s, batch, rate, 1),
        "Keras `model.fit`, `steps_per_execution=50`": lambda m, s: keras_fit(
            m, s, batch, rate, 50
        ),
        "ours, one step per call, batches gathered in the graph": lambda m, s: ours(
            m, s, batch, rate, 1
        ),
        "**ours (default): 50 steps per call**": lambda m, s: ours(m, s, batch, rate, 50),
    }
    gflops = matmul_gflops()
    flops = training_flops_per_image(mv.build_cnn())
    runs = {}
    for name, make in loops.items():
        run = make(mv.build_cnn(seed=0), data.train.with_seed(0))
        run(100)  # compile and warm up
        runs[name] = lambda run=run: run(iterations)
    rates = {
        name: batch * iterations / seconds
        for name, seconds in interleaved_medians(runs, repeats).items()
    }
    rows = []
    fit = rates["Keras `model.fit`"]
    for name, images_per_s in rates.items():
        achieved = flops * images_per_s / 1e9
        rows.append(
            [
                name,
                f"{images_per_s:,.0f}",
                f"{images_per_s / fit:.2f}",
                f"{achieved:.0f}",
                f"{achieved / gflops:.0%}",
            ]
        )
    facts = {"matmul_gflops": gflops, "flops_per_image": flops, "rates": rates}
    return rows, facts


# -- 2. time to accuracy -----------------------------------------------------


def time_to_accuracy(
    data: mv.MNIST, recipe: mv.Recipe, seed: int, eval_every: int, stop_at_target: bool = True
) -> dict:
    """Train as ``recipe`` (a plain one) says, with ``seed``, evaluating every
    ``eval_every`` iterations: the training seconds (evaluation excluded) until
    the test accuracy first reaches 99.0% (None if never), the best accuracy, and
    the total training seconds."""
    recipe = recipe.replace(seed=seed)
    model = mv.build_cnn(recipe.conv_filters, recipe.fc_units, recipe.kernel_size, recipe.seed)
    trainer = mv.Trainer(  # set up as mnist_viz.networks.train sets it up
        model,
        data.train.with_seed(recipe.seed),
        batch_size=recipe.batch_size,
        learning_rate=recipe.learning_rates(len(data.train)),
        report_every=None,
    )
    result = {"seconds": None, "iterations": None, "best": 0.0, "total_seconds": 0.0}
    while trainer.total_iterations < recipe.iterations:
        steps = min(eval_every, recipe.iterations - trainer.total_iterations)
        start = time.perf_counter()
        trainer.optimize(steps)
        result["total_seconds"] += time.perf_counter() - start
        result["best"] = max(result["best"], mv.classification_accuracy(model, data.test))
        if result["seconds"] is None and result["best"] >= TARGET_ACCURACY:
            result["seconds"] = result["total_seconds"]
            result["iterations"] = trainer.total_iterations
            if stop_at_target:
                break
    result["final"] = mv.classification_accuracy(model, data.test)
    return result


def accuracy_race(data: mv.MNIST, seeds: int) -> tuple[list, dict]:
    reference = time_to_accuracy(
        data, mv.RECIPES["standard"], seed=0, eval_every=500, stop_at_target=False
    )
    rows = [
        [
            "tutorial recipe: all 10,000 iterations (batch 64, Adam 1e-4)",
            f"{reference['total_seconds']:.1f} s",
            f"{reference['final']:.2%} at the end",
        ],
        [
            "tutorial recipe: time to 99.0% (evaluated every 500 iterations)",
            "never within 10,000 iterations"
            if reference["seconds"] is None
            else f"{reference['seconds']:.1f} s ({reference['iterations']:,} iterations)",
            f"best {reference['best']:.2%}",
        ],
    ]
    fast = [
        time_to_accuracy(data, mv.RECIPES["fast"], seed, eval_every=100) for seed in range(seeds)
    ]
    times = [r["seconds"] for r in fast]
    each = ", ".join("never" if t is None else f"{t:.1f}" for t in times)
    text = (
        f"{statistics.median(times):.1f} s median ({each})"
        if None not in times
        else f"reached in {sum(t is not None for t in times)} of {len(times)} seeds ({each})"
    )
    rows.append(
        [
            f"fast recipe: time to 99.0% over {seeds} seeds (batch 128, Adam 4e-3 with "
            "cosine decay, evaluated every 100 iterations)",
            text,
            "at that evaluation " + ", ".join(f"{r['best']:.2%}" for r in fast),
        ]
    )
    return rows, {"reference": reference, "fast": fast}


# -- 3. feature visualisation ------------------------------------------------


def reference_way(model: keras.Model, layer: str, features, iterations: int) -> np.ndarray:
    """The reference tutorial's way: one feature after another, one eager
    gradient call per iteration."""
    probe = keras.Model(model.inputs[0], model.get_layer(layer).output)
    images = []
    for feature, start in zip(features, mv.noise_images(len(features), seed=0)):
        image = tf.constant(start.reshape(1, 784))
        for _ in range(iterations):
            with tf.GradientTape() as tape:
                tape.watch(image)
                objective = tf.reduce_mean(probe(image)[..., feature])
            grad = tape.gradient(objective, image)
            image = tf.clip_by_value(image + grad / (tf.math.reduce_std(grad) + 1e-8), 0, 1)
        images.append(image.numpy())
    return np.concatenate(images)


def keras_vis_way(model: keras.Model, layer: str, features, iterations: int):
    """tf-keras-vis ActivationMaximization with its defaults, at equal steps.

    It needs image-shaped input, so the flat-input model is wrapped."""
    from tf_keras_vis.activation_maximization import ActivationMaximization

    probe = keras.Model(model.inputs[0], model.get_layer(layer).output)
    image_input = keras.Input((28, 28, 1))
    wrapped = keras.Model(image_input, probe(keras.layers.Reshape((784,))(image_input)))
    maximise = ActivationMaximization(wrapped, clone=False)
    seeds = mv.noise_images(len(features), seed=0)[..., None]
    features = list(features)

    def score(output):
        return tf.linalg.diag_part(tf.gather(tf.reduce_mean(output, axis=[1, 2]), features, axis=1))

    return lambda: maximise(score, steps=iterations, seed_input=seeds, input_range=(0.0, 1.0))


def all_features_objectives(model: keras.Model) -> list:
    return [
        objective
        for layer in ["layer_conv1", "layer_conv2", "layer_fc1", None]
        for objective in mv.layer_objectives(model, layer)
    ]


OURS = "**ours: `optimize_images`, one batch, the engine**"


def over_compilations(model: keras.Model, make_runs, compilations: int, repeats: int) -> dict:
    """Each run of ``make_runs(copy)`` compiled ``compilations`` times anew and
    timed in turns: the median over compilations of each one's median time.
    On the 2-core machine one compiled copy of the same loop runs up to 2x
    slower than another, for as long as it lives, so a single copy decides
    little. ``copy`` is a new copy of the model (same weights) each time, so the
    engine compiles anew; the old loops compile anew on every call anyway."""
    medians = {}
    for _ in range(compilations):
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
        runs = make_runs(copy)
        for run in runs.values():
            run()  # compile
        for name, seconds in interleaved_medians(runs, repeats).items():
            medians.setdefault(name, []).append(seconds)
    return {name: statistics.median(times) for name, times in medians.items()}


def ratio_row(label: str, times: dict, compilations: int) -> list[str]:
    before, ours = times["before"], times["ours"]
    return [
        f"**{label}: before / ours**, median over {compilations} compilations of each",
        f"{before:.3f} s / {ours:.3f} s",
        "",
        f"{before / ours:.2f}×",
    ]


def feature_visualisation(model: keras.Model, repeats: int) -> tuple[list, dict]:
    """The reference task (10 features x 30 steps) done several ways, and the old
    loops (bench/legacy_ascent.py) against the one engine, in the same run."""
    import warnings

    from legacy_ascent import legacy_ascend, legacy_visualize

    layer, features, iterations = "layer_conv2", range(10), 30
    runs, compile_times = {}, {}

    def first_then_median(name, run):
        start = time.perf_counter()
        run()
        compile_times[name] = time.perf_counter() - start
        runs[name] = run

    first_then_median(
        "reference way: one feature at a time, eager",
        lambda: reference_way(model, layer, features, iterations),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf-keras-vis warns about Keras 3 input structures
        first_then_median(
            "tf-keras-vis `ActivationMaximization` (its defaults)",
            keras_vis_way(model, layer, features, iterations),
        )
    start = mv.noise_images(10, seed=0)
    old_ascend = legacy_ascend(model, layer)
    first_then_median(
        "before: `optimize_images`, its own compiled loop",
        lambda: old_ascend(features, start, iterations),
    )
    first_then_median(
        OURS, lambda: mv.ascend(model, layer, features, start, iterations, record=False)
    )
    objectives = all_features_objectives(model)
    n = len(objectives)
    blank = np.zeros((n, 28, 28), np.float32)
    first_then_median(
        f"ours: all {n} features (16+36+128+10), reference settings, one call",
        lambda: mv.visualize(model, objectives, mv.REFERENCE),
    )
    first_then_median(
        f"before: all {n} features, regularised (200 steps), Python loop",
        lambda: legacy_visualize(model, objectives, mv.REGULARIZED, blank),
    )
    first_then_median(
        f"ours: all {n} features, regularised (200 steps), one call",
        lambda: mv.visualize(model, objectives, mv.REGULARIZED),
    )
    one = [mv.logit(model, 5, contrast=3.0)]
    first_then_median(
        "explorer: one feature x 200 steps (before: Python loop)",
        lambda: legacy_visualize(model, one, mv.REGULARIZED, blank[:1]),
    )
    first_then_median(
        "explorer: one feature x 200 steps (ours)", lambda: mv.visualize(model, one, mv.REGULARIZED)
    )
    digits = np.repeat(np.arange(10), 4)
    diverse = mv.per_image(
        mv.layer_objectives(model, None, digits, contrast=3.0)
    ) + 5.0 * mv.diversity(model, "layer_conv2", digits)
    first_then_median(
        "ours: 4 diverse images per digit (40 x 200 steps, diversity)",
        lambda: mv.visualize(model, diverse, mv.REGULARIZED),
    )
    ten_digits = mv.layer_objectives(model, None, contrast=3.0)
    first_then_median(
        "ours: 10 digits x 200 steps, Fourier parameterisation",
        lambda: mv.visualize(model, ten_digits, mv.FOURIER),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        timings = interleaved_medians(runs, repeats)
    batched = timings[OURS]
    same_task = list(timings)[:4]  # the rows that do the 10 features x 30 steps
    rows = [
        [
            name,
            f"{seconds:.3f} s",
            f"{compile_times[name]:.2f} s",
            f"{seconds / batched:.1f}×" if name in same_task else "—",
        ]
        for name, seconds in timings.items()
    ]

    def reference_runs(copy):
        old = legacy_ascend(model, layer)
        return {
            "before": lambda: old(features, start, iterations),
            "ours": lambda: mv.ascend(copy, layer, features, start, iterations, record=False),
        }

    def regularized_runs(copy):
        mine = all_features_objectives(copy)
        return {
            "before": lambda: legacy_visualize(model, objectives, mv.REGULARIZED, blank),
            "ours": lambda: mv.visualize(copy, mine, mv.REGULARIZED),
        }

    rows.append(
        ratio_row(
            "10 features × 30 steps, reference settings",
            over_compilations(model, reference_runs, 7, repeats),
            7,
        )
    )
    rows.append(
        ratio_row(
            f"all {n} features, regularised (200 steps)",
            over_compilations(model, regularized_runs, 3, 3),
            3,
        )
    )
    return rows, timings


def speed_tricks(model: keras.Model, repeats: int) -> list:
    """The engine with the speed tricks of mnist_viz/_fast.py on (the default) and
    off, 10 features x 200 steps each, taken in turns."""
    from mnist_viz import _fast

    cases = {
        "logits, reference settings": (None, mv.REFERENCE),
        "`layer_fc1` units, reference settings": ("layer_fc1", mv.REFERENCE),
        "`layer_conv2` channels, reference settings": ("layer_conv2", mv.REFERENCE),
        "`layer_conv1` channels, reference settings": ("layer_conv1", mv.REFERENCE),
        "logits, regularised settings": (None, mv.REGULARIZED),
        "`layer_conv2` channels, regularised settings": ("layer_conv2", mv.REGULARIZED),
    }
    rows = []
    for label, (layer, settings) in cases.items():
        objectives = mv.layer_objectives(model, layer, list(range(10)))
        settings = settings.replace(steps=200)

        def tricks_on(objectives=objectives, settings=settings):
            mv.visualize(model, objectives, settings)

        def tricks_off(objectives=objectives, settings=settings):
            with _fast.disabled():
                mv.visualize(model, objectives, settings)

        tricks_on(), tricks_off()  # compile both first
        times = interleaved_medians({"on": tricks_on, "off": tricks_off}, repeats)
        rows.append(
            [
                label,
                f"{times['on']:.3f} s",
                f"{times['off']:.3f} s",
                f"{times['off'] / times['on']:.1f}×",
            ]
        )
    return rows


# -- 4. robustness -----------------------------------------------------------


def robust_training(data: mv.MNIST, iterations: int, repeats: int) -> list:
    """Standard and adversarial training steps side by side (batch 128), one full
    robust training, and the PGD-20 attack on 1,000 test digits."""
    recipe, judge = mv.RECIPES["robust"], mv.RECIPES["robust judge"]
    batch, epsilon = recipe.batch_size, recipe.adversarial.epsilon
    standard = mv.Trainer(
        mv.build_cnn(seed=0), data.train.with_seed(0), batch, 1e-3, report_every=None
    )
    adversarial = mv.AdversarialTrainer(
        mv.build_cnn(seed=0),
        data.train.with_seed(0),
        epsilon,
        batch_size=batch,
        learning_rate=1e-3,
        report_every=None,
    )
    share = judge.adversarial.no_digit_share
    with_blobs = mv.AdversarialTrainer(
        mv.build_cnn(seed=0),
        data.train.with_seed(0),
        epsilon,
        no_digit_share=share,
        batch_size=batch,
        learning_rate=1e-3,
        report_every=None,
    )
    trainers = {
        "standard": standard,
        "adversarial": adversarial,
        f"adversarial + {share:.0%} no-digit blobs": with_blobs,
    }
    for trainer in trainers.values():
        trainer.optimize(50)  # compile and warm up
    timings = interleaved_medians(
        {name: lambda t=trainer: t.optimize(iterations) for name, trainer in trainers.items()},
        repeats,
    )
    rates = {name: batch * iterations / seconds for name, seconds in timings.items()}
    rows = [
        [
            f"training step, {name} (batch {batch})",
            f"{rate:,.0f} images/s",
            f"{rates['standard'] / rate:.2f}×",
        ]
        for name, rate in rates.items()
    ]
    start = time.perf_counter()
    model = mv.networks.train(recipe, data, report=False)
    seconds = time.perf_counter() - start
    rows.append(
        [
            f"full robust training ({recipe.adversarial.epochs} epochs, held-out checks included)",
            f"{seconds:.0f} s",
            "—",
        ]
    )
    start = time.perf_counter()
    mv.networks.train(judge, data, report=False)
    rows.append(
        [
            f"full robust judge training (judge's architecture, "
            f"{judge.adversarial.epochs} epochs, blobs)",
            f"{time.perf_counter() - start:.0f} s",
            "—",
        ]
    )
    images, cls = data.test.images[:1000], data.test.cls[:1000]
    mv.pgd_attack(model, images[:100], cls[:100], 0.3)  # compile
    attack = median_time(lambda: mv.pgd_attack(model, images, cls, 0.3), repeats)
    rows.append(["PGD-20 attack, 1,000 test digits", f"{attack:.2f} s", "—"])
    return rows


def handwriting_speed(model: keras.Model, repeats: int) -> list:
    """Ten digits on the robust network: plain steps and plain + shift + L1, in turns,
    each compiled first."""
    recipes = {
        "plain steps from the mean digit": mv.PLAIN.replace(start="mean digit"),
        "plain + shift + L1 (`PLAIN_SHIFT_L1`)": mv.PLAIN_SHIFT_L1,
    }
    for settings in recipes.values():
        mv.visualize_digits(model, settings)  # compile
    times = interleaved_medians(
        {
            name: lambda s=settings: mv.visualize_digits(model, s)
            for name, settings in recipes.items()
        },
        max(repeats, 5),
    )
    plain = times["plain steps from the mean digit"]
    return [
        [name, f"{seconds:.2f} s", f"{seconds / plain:.2f}×"] for name, seconds in times.items()
    ]


# -- 5. attribution ----------------------------------------------------------


def image_input_copy(model: keras.Model) -> keras.Model:
    """The same network with fresh layers (same names and weights) on 28x28x1
    input, as tf-keras-vis needs: its layer lookups must belong to one model."""
    net = image_input = keras.Input((28, 28, 1))
    for layer in model.layers:
        if isinstance(layer, (keras.layers.InputLayer, keras.layers.Reshape)):
            continue
        fresh = layer.__class__.from_config(layer.get_config())
        net = fresh(net)
        fresh.set_weights(layer.get_weights())
    return keras.Model(image_input, net)


def attribution_speed(model: keras.Model, data: mv.MNIST, repeats: int) -> list:
    """Every method on 1,000 test digits after a warm-up call, and tf-keras-vis's
    Saliency (plain and SmoothGrad 25) and Gradcam at equal work, interleaved."""
    import warnings

    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.saliency import Saliency
    from tf_keras_vis.utils.scores import CategoricalScore

    images, cls = data.test.images[:1000], data.test.cls[:1000]
    copy = image_input_copy(model)
    square = images.reshape(-1, 28, 28, 1)
    saliency, gradcam = Saliency(copy, clone=False), Gradcam(copy, clone=False)
    score = CategoricalScore(list(cls))
    theirs = {
        "saliency": lambda: saliency(score, square),
        "smoothgrad": lambda: saliency(
            score, square, smooth_samples=25, smooth_noise=mv.attribution.SMOOTHGRAD_NOISE
        ),
        "gradcam": lambda: gradcam(score, square, penultimate_layer="layer_conv2_relu"),
    }
    runs = {
        f"ours: {method}": (lambda m=method: mv.attribute(model, images, cls, m))
        for method in mv.ATTRIBUTION_METHODS
    }
    runs.update({f"tf-keras-vis: {method}": run for method, run in theirs.items()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, run in runs.items():
            if "occlusion" in name:
                mv.attribute(model, images[:20], cls[:20], "occlusion")  # compile only
            else:
                run()
        timings = interleaved_medians(runs, repeats)
    ours_total = sum(t for name, t in timings.items() if name.startswith("ours"))
    rows = []
    for name, seconds in timings.items():
        method = name.split(": ")[1]
        ratio = (
            f"{seconds / timings[f'ours: {method}']:.1f}×"
            if name.startswith("tf-keras-vis")
            else "—"
        )
        rows.append([name, f"{seconds:.2f} s", ratio])
    rows.append(["**ours: all six methods**", f"**{ours_total:.1f} s**", ""])
    return rows


# -- 6. whole runs -----------------------------------------------------------


def whole_runs(names: list[str] | None = None, make_test: bool = True) -> list:
    """Each notebook top to bottom (the networks cached), the teaching runs, then
    ``make test``'s pytest (unless ``make_test`` is False); with ``names``, only
    those notebooks."""
    python = sys.executable
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if names:
        unknown = sorted(set(names) - {n.name for n in notebooks})
        if unknown:
            raise SystemExit(f"unknown notebook(s) {unknown}; valid: {[n.name for n in notebooks]}")
        notebooks = [n for n in notebooks if n.name in names]
    rows = []
    with tempfile.TemporaryDirectory() as out:
        for notebook in notebooks:
            command = [
                python,
                "-m",
                "jupyter",
                "nbconvert",
                "--to",
                "notebook",
                "--execute",
                "--ExecutePreprocessor.timeout=1800",
                "--ExecutePreprocessor.kernel_name=python3",
                "--output-dir",
                out,
                str(notebook),
            ]
            rows.append([f"`{notebook.name}` top to bottom", _timed(command)])
    if names:
        return rows
    rows += teaching_runs()
    if not make_test:
        return rows
    test = [
        python,
        "-m",
        "pytest",
        "-q",
        "tests",
        *sorted(str(p) for p in (ROOT / "notebooks").glob("*.ipynb")),
        "--nbval",
        "--nbval-current-env",
        "--nbval-sanitize-with",
        "notebooks/sanitize.cfg",
    ]
    rows.append(["`make test` (unit tests and every notebook under nbval)", _timed(test)])
    return rows


def teaching_runs() -> list:
    """The book built from the committed notebooks, and notebook 02's solutions graded
    as one submission (``make assignment`` first; the networks cached)."""
    import json

    python = sys.executable
    rows = []
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        rows.append(
            [
                "`make book` (the site, from the committed notebooks)",
                _timed(
                    [
                        python,
                        "tools/build_book.py",
                        "--notebooks",
                        "notebooks",
                        "--out",
                        str(work / "site"),
                    ]
                ),
            ]
        )
        rows.append(
            [
                "`make assignment` (five student editions, one autograder)",
                _timed(
                    [
                        python,
                        "tools/make_assignment.py",
                        "--out",
                        str(work / "assignment"),
                        *sorted(str(p) for p in (ROOT / "notebooks").glob("*.ipynb")),
                    ]
                ),
            ]
        )
        submissions = work / "submissions"
        submissions.mkdir()
        solutions = json.loads((ROOT / "notebooks" / "02_exercises.ipynb").read_text())
        solutions["metadata"]["otter"] = {"assignment_name": "02_exercises"}
        (submissions / "solutions.ipynb").write_text(json.dumps(solutions))
        rows.append(
            [
                "grading one submission (notebook 02's solutions, `make grade`)",
                _timed(
                    [
                        python,
                        "tools/grade.py",
                        str(submissions),
                        "--autograder",
                        str(work / "assignment" / "autograder" / "02_exercises.zip"),
                        "--out",
                        str(work / "grades.csv"),
                    ]
                ),
            ]
        )
    return rows


def _timed(command: list[str]) -> str:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    status = "" if done.returncode == 0 else f" (exit status {done.returncode})"
    return f"{seconds // 60:.0f} min {seconds % 60:.0f} s{status}"


# -- the report --------------------------------------------------------------


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{cpu}, {cores} cores, {platform.system()} · Python {platform.python_version()}, "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}"
    )


SECTIONS = ("training", "accuracy", "visualisation", "robust", "attribution", "whole-runs")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="repeats per timing (median)")
    parser.add_argument(
        "--iterations", type=int, default=800, help="training iterations per throughput repeat"
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds for the fast recipe")
    parser.add_argument(
        "--skip-whole-runs",
        action="store_true",
        help="leave out the notebooks and make test (about 8 minutes)",
    )
    parser.add_argument(
        "--skip-make-test",
        action="store_true",
        help="whole runs: leave out make test (about 20 minutes)",
    )
    parser.add_argument(
        "--notebook",
        action="append",
        metavar="NAME",
        help="whole runs: time only this notebook (repeatable), without make test",
    )
    parser.add_argument(
        "--only",
        choices=SECTIONS,
        action="append",
        help="run only these sections (repeatable; default: all)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args(argv)
    wanted = set(args.only or SECTIONS)
    started = time.perf_counter()
    data = mv.load_mnist()
    sections = [
        "# Speed",
        "",
        "Written whole by `make bench` (`bench/bench.py`).",
        "",
        f"Measured {datetime.date.today():%Y-%m-%d} on {machine()}; a 2048×2048 "
        f"float32 matmul ran at {matmul_gflops():.0f} GFLOP/s at the start (how fast "
        "the machine was in this hour). Every time is the median of "
        f"{args.repeats} repeats after a warm-up; ratios come from runs taken in turns "
        "in this one run.",
        "",
    ]

    if "training" in wanted:
        print("1/6 training throughput ...", flush=True)
        rows, facts = training_throughput(data, args.iterations, args.repeats)
        sections += [
            f"## Training throughput (batch 64, Adam 1e-4, {args.iterations:,} "
            "iterations "
            "per repeat)",
            "",
            f"Roofline: a 2048×2048 float32 matmul runs at "
            f"{facts['matmul_gflops']:.0f} GFLOP/s. Training one image costs "
            f"{facts['flops_per_image'] / 1e6:.1f} MFLOP (forward pass from the layer "
            "shapes, ×3 for the backward pass).",
            "",
            table(["loop", "images/s", "vs model.fit", "GFLOP/s", "of roofline"], rows),
            "",
        ]

    if "accuracy" in wanted:
        print("2/6 time to 99.0% ...", flush=True)
        sections += [
            "## Time to 99.0% test accuracy (training time; evaluation excluded)",
            "",
            table(["recipe", "time", "accuracy"], accuracy_race(data, args.seeds)[0]),
            "",
        ]

    if "visualisation" in wanted:
        print("3/6 feature visualisation ...", flush=True)
        model = mv.get_network("standard", data)
        rows, _ = feature_visualisation(model, max(args.repeats, 5))
        sections += [
            "## Feature visualisation (10 features of `layer_conv2` × 30 steps, "
            "and the engine's other runs)",
            "",
            "First call: the time of the first run, compilation included. "
            '"before": the loops as they were before the one engine '
            "(bench/legacy_ascent.py), timed in the same run.",
            "",
            table(["method", "time (compiled)", "first call", "slower than ours by"], rows),
            "",
        ]
        sections += [
            "## The speed tricks (10 features × 200 steps, compiled)",
            "",
            "The engine with the speed tricks of `mnist_viz/_fast.py` on (the default) "
            "and off (`MNIST_VIZ_FAST=0`), taken in turns; both give the same images.",
            "",
            table(["ascent", "tricks on", "tricks off", "off / on"], speed_tricks(model, 5)),
            "",
        ]

    if "robust" in wanted:
        print("4/6 adversarial training and attack ...", flush=True)
        sections += [
            "## Adversarial training and attack",
            "",
            "Training steps timed side by side in one run; the ratio is the "
            "adversarial step's cost in standard steps.",
            "",
            table(
                ["run", "speed or time", "cost vs standard"],
                robust_training(data, args.iterations // 2, args.repeats),
            ),
            "",
            "## Handwriting: ten digits on the robust network (100 steps, compiled)",
            "",
            table(
                ["method", "time", "vs plain"],
                handwriting_speed(mv.get_network("robust", data), args.repeats),
            ),
            "",
        ]

    if "attribution" in wanted:
        print("5/6 attribution ...", flush=True)
        model = mv.get_network("standard", data)
        sections += [
            "## Attribution (1,000 test digits, their true classes)",
            "",
            "SmoothGrad: 25 noisy copies; integrated gradients: 32 steps; Grad-CAM "
            "on `layer_conv2`; occlusion: a 4×4 square at each of 625 positions "
            "(only squares with ink are evaluated). tf-keras-vis runs the same "
            "network with the same weights on 28×28×1 input, timed in turns with "
            "ours; the last column is how many times longer it takes.",
            "",
            table(
                ["method", "time (compiled)", "tf-keras-vis / ours"],
                attribution_speed(model, data, args.repeats),
            ),
            "",
        ]

    if "whole-runs" in wanted and not args.skip_whole_runs:
        print("6/6 whole runs (each notebook, then make test) ...", flush=True)
        rows = whole_runs(args.notebook, make_test=not args.skip_make_test)
        sections += [
            "## Whole runs",
            "",
            f"In this run a 2048×2048 float32 matmul ran at {matmul_gflops():.0f} "
            "GFLOP/s, a measure of how fast the machine was in this hour.",
            "",
            table(["run", "wall time"], rows),
            "",
        ]
    sections.append(f"The whole benchmark took {time.perf_counter() - started:.0f} s.")
    report = "\n".join(sections) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.out) as tmp:
        tmp.write_text(report)
    print()
    print(report)
    print(f"Written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
