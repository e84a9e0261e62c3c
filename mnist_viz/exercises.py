"""Self-checks for the exercises: does a student's answer have the expected shape?

Each exercise of notebook 02 ends with a cell kept in the student edition. It
calls :func:`check_exercise` with the notebook's variables. While the exercise cell
is still empty it says "not answered yet" (never a NameError); afterwards it
names what looks wrong, or says the answer has the expected shape and range. It
checks form, not the findings: a different network may answer differently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

NOT_ANSWERED = "not answered yet"
# The fewest seeds a comparison of accuracies may rest on (see
# diagnostics.differ_beyond_noise).
MIN_SEEDS = 2


def self_check(
    namespace: Mapping, exercise: str, names: Sequence[str], check: Callable[..., list[str]]
) -> bool:
    """Print one line about the answer held in ``names`` of ``namespace`` (e.g.
    ``globals()``) and return whether it passed: not answered yet (a name is
    missing), the problems ``check(*values)`` lists, or that all looks right."""
    passed, line = _verdict(namespace, exercise, names, check)
    print(line)
    return passed


def _verdict(
    namespace: Mapping, exercise: str, names: Sequence[str], check: Callable[..., list[str]]
) -> tuple[bool, str]:
    missing = [name for name in names if name not in namespace]
    if missing:
        return False, f"{exercise}: {NOT_ANSWERED} (define {', '.join(missing)})"
    problems = check(*(namespace[name] for name in names))
    if problems:
        return False, f"{exercise}: check your answer: " + "; ".join(problems)
    return True, f"{exercise}: the answer has the expected shape and range"


def image_problems(name: str, images, count: int | None = None) -> list[str]:
    """What is wrong with ``images`` as optimised images: (n, 28, 28), finite,
    in [0, 1], and ``count`` of them when given."""
    images = np.asarray(images, dtype=float) if _is_numeric(images) else None
    if images is None or images.ndim != 3 or images.shape[1:] != (28, 28):
        return [f"{name} should be images of shape (n, 28, 28)"]
    problems = []
    if count is not None and len(images) != count:
        problems.append(f"{name} should hold {count} images, not {len(images)}")
    if not np.isfinite(images).all() or images.min() < 0 or images.max() > 1:
        problems.append(f"{name} should be finite and inside [0, 1]")
    return problems


def accuracy_problems(name: str, value) -> list[str]:
    """What is wrong with ``value`` as a test accuracy: a number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        return [
            f"{name} should be a number (a fraction of the test set), not {type(value).__name__}"
        ]
    if not 0 <= value <= 1:
        return [f"{name} should be a fraction between 0 and 1, not {value}"]
    return []


def seed_accuracies_problems(name: str, values) -> list[str]:
    """What is wrong with ``values`` as one test accuracy per seed: a list of at
    least :data:`MIN_SEEDS` fractions in [0, 1]."""
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Sequence | np.ndarray):
        return [f"{name} should be a list of accuracies, one per seed"]
    if len(values) < MIN_SEEDS:
        return [f"{name} should hold one accuracy per seed, at least {MIN_SEEDS}"]
    return _first_problems(accuracy_problems(f"each of {name}", value) for value in values)


def accuracy_table_problems(name: str, table) -> list[str]:
    """What is wrong with ``table`` as accuracies per network: a dict from a
    network's description to its :func:`seed_accuracies_problems`-valid list."""
    if not isinstance(table, Mapping) or not table:
        return [f"{name} should be a dict from each network to its accuracies per seed"]
    return _first_problems(
        seed_accuracies_problems(f"{name}[{key!r}]", values) for key, values in table.items()
    )


def restart_problems(name: str, restarts) -> list[str]:
    """What is wrong with ``restarts`` as exercise 4's answer: a dict from each
    kind of start to its optimised images."""
    if not isinstance(restarts, Mapping) or len(restarts) < 2:
        return [f"{name} should be a dict from each kind of start (at least two) to its images"]
    return [
        problem
        for kind, images in restarts.items()
        for problem in image_problems(f"{name}[{kind!r}]", images)
    ]


# Exercise -> the names its answer defines, and what checks them.
EXERCISES = {
    1: (
        ("images_conv1", "images_conv2", "accuracy_by_filters"),
        lambda conv1, conv2, table: (
            image_problems("images_conv1", conv1, 16)
            + image_problems("images_conv2", conv2, 36)
            + accuracy_table_problems("accuracy_by_filters", table)
        ),
    ),
    2: (
        ("images_conv3", "accuracies_three"),
        lambda conv3, accuracies: (
            image_problems("images_conv3", conv3)
            + seed_accuracies_problems("accuracies_three", accuracies)
        ),
    ),
    3: (
        ("images_fc1", "images_fc2", "accuracies_dense"),
        lambda fc1, fc2, accuracies: (
            image_problems("images_fc1", fc1)
            + image_problems("images_fc2", fc2)
            + seed_accuracies_problems("accuracies_dense", accuracies)
        ),
    ),
    4: (("restarts",), lambda restarts: restart_problems("restarts", restarts)),
}


def check_exercise(namespace: Mapping, number: int) -> bool:
    """The self-check of notebook 02's exercise ``number`` (1 to 4; exercise 5 is
    a written answer), run on the notebook's variables: ``check_exercise(globals(), 1)``."""
    return self_check(namespace, f"Exercise {number}", *_exercise(number))


def assert_exercise(namespace: Mapping, number: int) -> None:
    """:func:`check_exercise` as a test (the assignment's public test): silent when
    the answer has the expected form, else an AssertionError saying what is
    missing or looks wrong."""
    passed, line = _verdict(namespace, f"Exercise {number}", *_exercise(number))
    if not passed:
        raise AssertionError(line)


def _exercise(number: int) -> tuple:
    if number not in EXERCISES:
        raise ValueError(f"exercise must be one of {sorted(EXERCISES)}, got {number!r}.")
    return EXERCISES[number]


def _first_problems(problem_lists) -> list[str]:
    """The first non-empty list of problems, or none: one bad entry is named,
    not every entry after it."""
    return next((problems for problems in problem_lists if problems), [])


def _is_numeric(values) -> bool:
    try:
        return np.asarray(values).dtype.kind in "biuf"
    except (TypeError, ValueError):
        return False
