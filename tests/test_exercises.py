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
    for wrong in [np.zeros((10, 28)), np.zeros((9, 28, 28)), np.full((10, 28, 28), 2.0),
                  np.full((10, 28, 28), np.nan), "ten images"]:
        assert not exercises.self_check({"images": wrong}, "Exercise 2", ["images"],
                                        _images_check)
        assert "check your answer: images should" in capsys.readouterr().out


def test_a_well_formed_answer_passes(capsys):
    namespace = {"images": np.random.default_rng(0).random((10, 28, 28)), "accuracy": 0.99}
    assert exercises.self_check(namespace, "Exercise 3", ["images", "accuracy"],
                                lambda images, accuracy: _images_check(images)
                                + exercises.accuracy_problems("accuracy", accuracy))
    assert "expected shape and range" in capsys.readouterr().out


def test_an_accuracy_must_be_a_fraction():
    assert exercises.accuracy_problems("a", 0.5) == []
    assert exercises.accuracy_problems("a", np.float32(1.0)) == []
    assert exercises.accuracy_problems("a", 99.2) != []  # a percentage, not a fraction
    assert exercises.accuracy_problems("a", True) != []
    assert exercises.accuracy_problems("a", "0.99") != []
