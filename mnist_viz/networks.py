"""Every trained network the series uses, by name: one table of recipes, one
function to get a network.

    Recipe        how one network is made: architecture, seed, training
    Adversarial   the settings of adversarial training, for a recipe that uses it
    RECIPES       name -> Recipe, for every network of the series
    get_network   the network a recipe makes, from the cache; trained and cached
                  on first use
    save_network  put a network you trained where get_network looks for it
    train         train a recipe's network anew, without the cache

A recipe is a frozen dataclass, checked when it is made, so a typo fails where
it is written and not minutes into training. A variant is
``RECIPES["fast"].replace(seed=2)``; a new network is one more entry.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import sys
from pathlib import Path

from mnist_viz._checks import (
    MAX_SEED,
    check_int,
    check_positive_float,
    check_positive_int,
    check_seed,
)
from mnist_viz._tf import keras
from mnist_viz.data import MNIST, load_mnist
from mnist_viz.model import (
    Trainer,
    build_cnn,
    cached_model_path,
    check_layer_sizes,
    load_model,
    save_model,
)
from mnist_viz.paths import CACHE_ENV_VAR, writable_folder
from mnist_viz.robust import (
    BLOBS,
    AdversarialTrainer,
    check_epsilon,
    check_no_digit_share,
    train_adversarially,
)

SCHEDULES = ("constant", "cosine")


def _store(frozen, name: str, value) -> None:
    """Set a checked field of a frozen dataclass (a plain int or float in place
    of a NumPy number, a tuple in place of a list)."""
    object.__setattr__(frozen, name, value)


@dataclasses.dataclass(frozen=True)
class Adversarial:
    """Fast adversarial training (see :class:`mnist_viz.robust.AdversarialTrainer`):
    each step on FGSM images of size ``epsilon`` from a random start, a step of
    ``step_ratio * epsilon``; epsilon grows from 0 over the first ``ramp_epochs``;
    ``no_digit_share`` adds that share of "no digit" blobs to every batch."""

    epsilon: float
    epochs: int
    step_ratio: float = 1.25
    ramp_epochs: float = 0.5
    no_digit_share: float = 0.0

    def __post_init__(self):
        _store(self, "epsilon", check_epsilon(self.epsilon))
        _store(self, "epochs", check_positive_int("epochs", self.epochs))
        _store(self, "step_ratio", check_positive_float("step_ratio", self.step_ratio))
        _store(self, "no_digit_share", check_no_digit_share(self.no_digit_share))
        ramp = self.ramp_epochs
        if (
            isinstance(ramp, bool)
            or not isinstance(ramp, numbers.Real)
            or not 0 <= ramp <= self.epochs
        ):
            raise ValueError(f"ramp_epochs must be in [0, epochs], got {ramp!r}.")
        _store(self, "ramp_epochs", float(ramp))


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How one network is made: :func:`~mnist_viz.model.build_cnn`'s architecture
    and seed, then Adam on mini-batches, either plain for ``iterations`` steps or
    ``adversarial`` for its epochs. The learning rate is constant or decays to 0
    along a cosine (``schedule``). The seed fixes the first weights, the order
    of the batches and, in adversarial training, the random starts and blobs."""

    name: str
    description: str
    conv_filters: tuple[int, ...] = (16, 36)
    fc_units: tuple[int, ...] = (128,)
    kernel_size: int = 5
    seed: int = 0
    batch_size: int = 128
    learning_rate: float = 4e-3
    schedule: str = "cosine"
    iterations: int | None = 1500
    adversarial: Adversarial | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise TypeError(f"a recipe's name must be a non-empty string, got {self.name!r}.")
        for name in ("conv_filters", "fc_units"):
            _store(self, name, check_layer_sizes(name, getattr(self, name)))
        _store(self, "kernel_size", check_positive_int("kernel_size", self.kernel_size))
        _store(self, "seed", check_int("seed", self.seed, 0, MAX_SEED))
        _store(self, "batch_size", check_positive_int("batch_size", self.batch_size))
        _store(self, "learning_rate", check_positive_float("learning_rate", self.learning_rate))
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}.")
        if self.adversarial is not None and not isinstance(self.adversarial, Adversarial):
            raise TypeError(
                f"adversarial must be an Adversarial(...) or None, got {self.adversarial!r}."
            )
        if (self.iterations is None) == (self.adversarial is None):
            raise ValueError(
                "a recipe trains either for iterations (plain training) or for the epochs "
                f"of adversarial=Adversarial(...), not both or neither; got iterations="
                f"{self.iterations!r}, adversarial={self.adversarial!r}."
            )
        if self.iterations is not None:
            _store(self, "iterations", check_positive_int("iterations", self.iterations))

    def replace(self, **changes) -> Recipe:
        """A copy with ``changes``, checked like a new recipe."""
        return dataclasses.replace(self, **changes)

    def steps(self, train_size: int) -> int:
        """The optimisation steps in all, on a training set of ``train_size`` digits."""
        if self.adversarial is None:
            return self.iterations
        return self.adversarial.epochs * math.ceil(train_size / self.batch_size)

    def learning_rates(self, train_size: int):
        """Adam's learning rate: a number, or a schedule over :meth:`steps`."""
        if self.schedule == "cosine":
            return keras.optimizers.schedules.CosineDecay(
                self.learning_rate, self.steps(train_size)
            )
        return self.learning_rate

    def made_by(self) -> dict:
        """What makes the network (everything but the name and description): the
        cache key."""
        made_by = dataclasses.asdict(self)
        del made_by["name"], made_by["description"]
        if self.adversarial is not None and self.adversarial.no_digit_share:
            made_by["blobs"] = BLOBS
        return made_by


_TUTORIAL = {"conv_filters": (16, 36), "fc_units": (128,), "kernel_size": 5}
_JUDGE = {"conv_filters": (12, 24), "fc_units": (64,), "kernel_size": 3, "seed": 1}

# The fast recipe: a larger batch and a 40x larger learning rate than the
# tutorial's, decaying along a cosine, reach about 99.3% in 1,500 iterations.
_FAST = Recipe("fast", "the tutorial's network, fast recipe (about 30 s)", **_TUTORIAL)

# Fast adversarial training (Wong et al., 2020) with three changes that make 4
# epochs on a laptop CPU enough: epsilon grows from 0 over the first half epoch,
# the learning rate decays along a cosine, and training uses epsilon 0.33, a
# tenth above the 0.3 it is tested at (trained at 0.3 itself, PGD-20 accuracy at
# 0.3 was 80.4%, too close to the 80% it must reach).
_ROBUST = Recipe(
    "robust",
    "the tutorial's network, adversarially trained (about a minute)",
    **_TUTORIAL,
    learning_rate=5e-3,
    iterations=None,
    adversarial=Adversarial(epsilon=0.33, epochs=4),
)

RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for recipe in (
        Recipe(
            "standard",
            "the main tutorial's network (about 1.5 minutes)",
            **_TUTORIAL,
            batch_size=64,
            learning_rate=1e-4,
            schedule="constant",
            iterations=10_000,
        ),
        _FAST,
        _ROBUST,
        # A judge must not share the generator's architecture or seed.
        _FAST.replace(name="judge", description="the CNN judge (about 15 s)", **_JUDGE),
        # The robust judge also learns to give every class the same probability
        # for "no digit" blobs: adversarial training alone left it reading 9 of
        # the reference method's 10 scribbles; with the blobs, about chance.
        _ROBUST.replace(
            name="robust judge",
            description="the robust judge (under a minute)",
            **_JUDGE,
            adversarial=Adversarial(epsilon=0.3, epochs=3, no_digit_share=0.1),
        ),
        # Notebook 02's exercises: the fast recipe on other architectures.
        _FAST.replace(
            name="few filters", description="a network of 4 and 8 conv filters", conv_filters=(4, 8)
        ),
        _FAST.replace(
            name="three conv layers",
            description="a network with a third conv layer",
            conv_filters=(16, 36, 64),
        ),
        _FAST.replace(
            name="two dense layers",
            description="a network with a second dense layer",
            fc_units=(128, 64),
        ),
    )
}


def check_recipe(recipe: str | Recipe) -> Recipe:
    """A :class:`Recipe`, or the name of one in :data:`RECIPES`."""
    if isinstance(recipe, Recipe):
        return recipe
    if recipe not in RECIPES:
        raise ValueError(f"network must be one of {list(RECIPES)}, got {recipe!r}.")
    return RECIPES[recipe]


def network_path(recipe: str | Recipe, seed: int | None = None) -> Path:
    """Where the cache keeps the network of ``recipe`` (and ``seed``, when given)."""
    recipe = _with_seed(check_recipe(recipe), seed)
    return cached_model_path(recipe.name.replace(" ", "_"), **recipe.made_by())


def _with_seed(recipe: Recipe, seed: int | None) -> Recipe:
    return recipe if check_seed(seed) is None else recipe.replace(seed=seed)


def train(recipe: Recipe, data: MNIST, report: bool = True) -> keras.Model:
    """A new network trained by ``recipe`` on ``data.train`` (never cached);
    ``report`` prints the progress."""
    model = build_cnn(recipe.conv_filters, recipe.fc_units, recipe.kernel_size, recipe.seed)
    split = data.train.with_seed(recipe.seed)
    options = {
        "batch_size": recipe.batch_size,
        "learning_rate": recipe.learning_rates(len(split)),
    }
    if recipe.adversarial is None:
        trainer = Trainer(model, split, report_every=1000 if report else None, **options)
        trainer.optimize(recipe.iterations)
        return model
    adversarial = recipe.adversarial
    trainer = AdversarialTrainer(
        model,
        split,
        epsilon=adversarial.epsilon,
        step_ratio=adversarial.step_ratio,
        seed=recipe.seed,
        no_digit_share=adversarial.no_digit_share,
        report_every=None,
        **options,
    )
    train_adversarially(
        trainer, data.validation, adversarial.epochs, adversarial.ramp_epochs, report
    )
    return model


def get_network(
    recipe: str | Recipe = "standard",
    data: MNIST | None = None,
    seed: int | None = None,
    report: bool = True,
) -> keras.Model:
    """The trained network that ``recipe`` (a name in :data:`RECIPES`, or a
    :class:`Recipe`) makes, with ``seed`` instead of the recipe's when given.

    It comes from the cache (see :func:`network_path`); when missing or
    unreadable, it is trained on ``data`` (default: :func:`load_mnist`) and
    cached, in one rename when training completes. An experiment that asks for
    the same network twice, in a notebook or a test, trains it once per machine.
    The cache is keyed by the recipe, not by ``data``: a network trained on other
    data belongs under a recipe of its own name.
    """
    recipe = _with_seed(check_recipe(recipe), seed)
    path = network_path(recipe)
    if path.is_file():
        try:
            return load_model(path)
        except Exception as err:  # any unreadable file: report and retrain
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            print(
                f"Cached model {path.name} is unreadable ({reason[:120]}); retraining.",
                file=sys.stderr,
            )
    else:
        print(f"No cached model at {path.name}; training {recipe.description}.", file=sys.stderr)
    writable_folder(path.parent, CACHE_ENV_VAR)  # before spending minutes on training
    model = train(recipe, load_mnist() if data is None else data, report)
    save_model(model, path)
    return model


def save_network(
    model: keras.Model, recipe: str | Recipe = "standard", seed: int | None = None
) -> Path:
    """Save ``model``, trained by ``recipe`` (with ``seed`` when given), where
    :func:`get_network` looks for it."""
    return save_model(model, network_path(recipe, seed))
