"""The students' self-checks: 'not answered yet' for an empty exercise, a named
problem for a malformed answer, and a pass for a well-formed one."""

import numpy as np

from mnist_viz import exercises


def _images_check(images):
    return exercises.image_problems("images", images, count=10)


def test_an_empty_exercise_is_not_answered_yet(capsys):
    assert not exercises.self_check({}, "Exercise 2", ["images"], _images_check)
    assert capsys.readouterr().out == "Exercise 2: not answered yet (define images)\n"


def test_a_malformed_answer_is_named(capsys):
    for wrong in [
        np.zeros((10, 28)),
        np.zeros((9, 28, 28)),
        np.full((10, 28, 28), 2.0),
        np.full((10, 28, 28), np.nan),
        "ten images",
    ]:
        assert not exercises.self_check({"images": wrong}, "Exercise 2", ["images"], _images_check)
        assert "check your answer: images should" in capsys.readouterr().out


def test_a_well_formed_answer_passes(capsys):
    namespace = {"images": np.random.default_rng(0).random((10, 28, 28)), "accuracy": 0.99}
    assert exercises.self_check(
        namespace,
        "Exercise 3",
        ["images", "accuracy"],
        lambda images, accuracy: (
            _images_check(images) + exercises.accuracy_problems("accuracy", accuracy)
        ),
    )
    assert "expected shape and range" in capsys.readouterr().out


def test_an_accuracy_must_be_a_fraction():
    assert exercises.accuracy_problems("a", 0.5) == []
    assert exercises.accuracy_problems("a", np.float32(1.0)) == []
    assert exercises.accuracy_problems("a", 99.2) != []  # a percentage, not a fraction
    assert exercises.accuracy_problems("a", True) != []
    assert exercises.accuracy_problems("a", "0.99") != []


def _answers():
    rng = np.random.default_rng(0)
    return {
        "images_conv1": rng.random((16, 28, 28)),
        "images_conv2": rng.random((36, 28, 28)),
        "accuracy_by_filters": {(4, 8): [0.98, 0.99, 0.985], (16, 36): [0.99, 0.991, 0.99]},
        "images_conv3": rng.random((20, 28, 28)),
        "accuracies_three": [0.99, 0.992, 0.991],
        "images_fc1": rng.random((10, 28, 28)),
        "images_fc2": rng.random((10, 28, 28)),
        "accuracies_dense": np.array([0.99, 0.993, 0.992]),
        "restarts": {"grey": rng.random((200, 28, 28)), "uniform": rng.random((200, 28, 28))},
    }


def test_every_exercise_says_not_answered_yet_in_an_empty_notebook(capsys):
    for number in exercises.EXERCISES:
        assert not exercises.check_exercise({"np": np}, number)
        assert capsys.readouterr().out.startswith(f"Exercise {number}: not answered yet (define ")


def test_every_exercise_passes_a_well_formed_answer(capsys):
    for number in exercises.EXERCISES:
        assert exercises.check_exercise(_answers(), number), capsys.readouterr().out


def test_every_exercise_names_a_malformed_answer(capsys):
    broken = {
        "images_conv1": np.zeros((15, 28, 28)),  # one feature short
        "accuracy_by_filters": {(4, 8): 0.98},  # one training, not one per seed
        "accuracies_three": [0.99],  # a single seed
        "accuracies_dense": [0.99, 99.3],  # a percentage slipped in
        "restarts": {"grey": np.zeros((200, 28, 28))},
    }  # one kind of start
    expected = {
        "images_conv1": "images_conv1 should hold 16 images",
        "accuracy_by_filters": "accuracy_by_filters[(4, 8)] should be a list",
        "accuracies_three": "accuracies_three should hold one accuracy per seed",
        "accuracies_dense": "each of accuracies_dense should be a fraction",
        "restarts": "restarts should be a dict from each kind of start (at least two)",
    }
    for name, wrong in broken.items():
        number = next(n for n, (names, _) in exercises.EXERCISES.items() if name in names)
        assert not exercises.check_exercise({**_answers(), name: wrong}, number)
        assert expected[name] in capsys.readouterr().out


def test_an_unknown_exercise_is_a_clear_error():
    import pytest

    with pytest.raises(ValueError, match=r"exercise must be one of \[1, 2, 3, 4\], got 5"):
        exercises.check_exercise({}, 5)


def test_the_public_test_is_silent_when_well_formed_and_says_what_is_missing():
    import pytest

    good = {
        "images_conv3": np.random.default_rng(0).random((4, 28, 28)),
        "accuracies_three": [0.99, 0.98],
    }
    assert exercises.assert_exercise(good, 2) is None
    with pytest.raises(
        AssertionError,
        match=r"^Exercise 2: not answered yet \(define "
        r"images_conv3, accuracies_three\)$",
    ):
        exercises.assert_exercise({}, 2)
    with pytest.raises(AssertionError, match="Exercise 2: check your answer: accuracies_three"):
        exercises.assert_exercise({**good, "accuracies_three": [0.99]}, 2)
    with pytest.raises(ValueError, match="exercise must be one of"):
        exercises.assert_exercise(good, 5)
