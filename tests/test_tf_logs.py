"""TensorFlow's start-up messages: hidden by default, untouched when the user asks."""

import os
import re
import subprocess
import sys

import pytest

# TensorFlow's C++ log lines start with a severity letter and the date: "I0000 00:00:...".
NATIVE_LOG_LINE = re.compile(r"^[IWEF]\d{4} ", re.M)


def _import_stderr(**env_changes) -> str:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TF_CPP_MIN_LOG_LEVEL", "MNIST_VIZ_QUIET_TF_LEVEL")
    }
    env.update(env_changes)
    code = "import os; from mnist_viz import model; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip(), done.stderr


def test_native_messages_are_hidden_by_default():
    level, stderr = _import_stderr()
    assert level == "3"
    assert not NATIVE_LOG_LINE.search(stderr), stderr


def test_a_log_level_set_by_the_user_is_respected():
    level, stderr = _import_stderr(TF_CPP_MIN_LOG_LEVEL="0")
    assert level == "0"
    assert NATIVE_LOG_LINE.search(stderr), stderr  # e.g. "I0000 ... Could not find cuda drivers"


@pytest.mark.slow  # imports TensorFlow twice in fresh processes
def test_a_quiet_level_set_by_the_user_hides_the_lines_printed_before_it_is_read():
    """TensorFlow prints some start-up lines before it reads TF_CPP_MIN_LOG_LEVEL;
    a user who sets it to quiet TensorFlow sees no more lines than one who does not."""
    for level in ("1", "2", "3"):
        chosen, stderr = _import_stderr(TF_CPP_MIN_LOG_LEVEL=level)
        assert chosen == level
        assert not NATIVE_LOG_LINE.search(stderr), (level, stderr)
    assert len(_import_stderr(TF_CPP_MIN_LOG_LEVEL="3")[1].splitlines()) <= len(
        _import_stderr()[1].splitlines()
    )


def test_a_child_process_inherits_the_quiet_level_as_the_package_set_it():
    """A subprocess sees the level the parent's import set, marked as the package's."""
    level, stderr = _import_stderr(TF_CPP_MIN_LOG_LEVEL="3", MNIST_VIZ_QUIET_TF_LEVEL="3")
    assert level == "3"
    assert not NATIVE_LOG_LINE.search(stderr), stderr
