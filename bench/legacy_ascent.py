"""The two ascent loops as they were before the one engine (commit 68cd000), kept
only so that ``make bench`` can time old and new side by side in one run.

    legacy_ascend      the reference loop: compiled per model and layer
    legacy_visualize   the regularised loop: a new ``tf.function`` per call,
                       driven step by step from Python

Not part of the package; nothing imports it but bench.py.
"""

import numpy as np

from mnist_viz import layers, transforms
from mnist_viz._tf import keras, tf
from mnist_viz.objectives import MEAN

# The penalties as they were (tf.image.total_variation's own gradient), so the
# "before" rows keep their cost when the package's penalties get faster.
PENALTIES = {
    "tv": lambda images: tf.image.total_variation(images),
    "l2": lambda images: tf.reduce_sum(tf.square(images), axis=[1, 2, 3]),
    "l1": lambda images: tf.reduce_sum(tf.abs(images), axis=[1, 2, 3]),
}


def _dense_weights(model, objectives):
    """The old representation: one (n, *layer shape) weight array per layer."""
    stacked = {}
    for i, objective in enumerate(objectives):
        for (name, reading), w in objective.weights.items():
            shape = layers.layer_shape(model, name)
            if reading == MEAN:
                w = np.broadcast_to(w / (shape[0] * shape[1]), shape)
            stacked.setdefault(name, np.zeros((len(objectives), *shape), np.float32))[i] += w
    return stacked


def legacy_ascend(model, layer_name):
    """The old compiled reference loop for one layer, without its history
    (``record=False``), as a function of (features, start, steps); compiled on
    its first call, like the old per-model cache."""
    feature_model = keras.Model(model.inputs[0], model.get_layer(layer_name).output)

    @tf.function(reduce_retracing=True)
    def ascend(images, one_hot, steps):
        n = tf.shape(images)[0]
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                tape.watch(images)
                activations = feature_model(tf.reshape(images, (n, 784)))
                if len(activations.shape) == 4:
                    activations = tf.reduce_mean(activations, axis=[1, 2])
                total = tf.reduce_sum(activations * one_hot)
            grad = tape.gradient(total, images)
            std = tf.math.reduce_std(grad, axis=[1, 2])
            step = tf.where(std > 0, 1.0 / (std + 1e-8), tf.zeros_like(std))
            images = tf.clip_by_value(images + step[:, None, None] * grad, 0.0, 1.0)
        return images

    count = layers.num_features(model, layer_name)

    def run(features, start, steps):
        one_hot = np.eye(count, dtype=np.float32)[list(features)]
        return ascend(tf.constant(start), tf.constant(one_hot), tf.constant(steps)).numpy()

    return run


def legacy_visualize(model, objectives, settings, start, seed=0):
    """The old regularised loop: a step function built per call, one call per step,
    the whole network (and its logits) computed for every image."""
    weights = _dense_weights(model, objectives)
    outputs = [model.get_layer(name).output for name in weights]
    probe = keras.Model(model.inputs[0], [*outputs, model.outputs[0]])
    n = len(objectives)
    images = tf.Variable(start[..., None])
    optimizer = keras.optimizers.Adam(settings.learning_rate)
    optimizer.build([images])

    @tf.function
    def step(i):
        if settings.blur_every and i > 0 and i % settings.blur_every == 0:
            images.assign(transforms.blur(images, settings.blur_sigma))
        with tf.GradientTape() as tape:
            seen = images
            if settings.moves_images:
                seen = transforms.apply_affine(
                    images,
                    transforms.random_affine_matrices(
                        n, tf.stack([seed, i]), settings.jitter, settings.scale, settings.rotation
                    ),
                )
            layer_outputs = probe(tf.reshape(seen, (n, 784)))[:-1]
            objective = 0.0
            for out, w in zip(layer_outputs, weights.values()):
                objective += tf.reduce_sum(out * w, axis=list(range(1, len(w.shape))))
            total = objective
            for name, penalise in PENALTIES.items():
                if getattr(settings, name):
                    total -= getattr(settings, name) * penalise(images)
            loss = -tf.reduce_sum(total)
        grad = tape.gradient(loss, images)
        optimizer.apply_gradients([(grad, images)])
        images.assign(tf.clip_by_value(images, 0.0, 1.0))
        return objective, tf.reduce_all(grad == 0, axis=[1, 2, 3])

    log = []
    for i in range(settings.steps):
        objective, no_gradient = step(tf.constant(i))
        log.append((objective.numpy(), no_gradient.numpy()))
    return images.numpy()[..., 0]
