"""Self-checks for the exercises: does a student's answer have the expected shape?

Each exercise of notebook 02 ends with a cell kept in the student edition. It
calls :func:`self_check` with the notebook's variables. While the exercise cell
is still empty it says "not answered yet" (never a NameError); afterwards it
names what looks wrong, or says the answer has the expected shape and range. It
checks form, not the findings: a different network may answer differently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

NOT_ANSWERED = "not answered yet"


def self_check(namespace: Mapping, exercise: str, names: Sequence[str],
               check: Callable[..., list[str]]) -> bool:
    """Print one line about the answer held in ``names`` of ``namespace`` (e.g.
    ``globals()``) and return whether it passed: not answered yet (a name is
    missing), the problems ``check(*values)`` lists, or that all looks right."""
    missing = [name for name in names if name not in namespace]
    if missing:
        print(f"{exercise}: {NOT_ANSWERED} (define {', '.join(missing)})")
        return False
    problems = check(*(namespace[name] for name in names))
    if problems:
        print(f"{exercise}: check your answer: " + "; ".join(problems))
        return False
    print(f"{exercise}: the answer has the expected shape and range")
    return True


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
        return [f"{name} should be a number (a fraction of the test set), not "
                f"{type(value).__name__}"]
    if not 0 <= value <= 1:
        return [f"{name} should be a fraction between 0 and 1, not {value}"]
    return []


def _is_numeric(values) -> bool:
    try:
        return np.asarray(values).dtype.kind in "biuf"
    except (TypeError, ValueError):
        return False
