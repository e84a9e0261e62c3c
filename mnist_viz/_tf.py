"""Import TensorFlow and Keras once, without the native log lines they print.

TensorFlow's C++ side writes start-up messages ("oneDNN custom operations are
on", "could not find cuda drivers") straight to file descriptor 2, where a
notebook shows them in red under the first cell. They are silenced only while
TensorFlow is imported, and only when TF_CPP_MIN_LOG_LEVEL is unset: a user who
sets it (to 0 to see everything, say) gets TensorFlow's messages untouched.
"""

import contextlib
import logging
import os
import sys

# The level this package sets is marked, so that a child process (which inherits
# both variables) does not mistake it for the user's own choice.
_QUIET_MARK = "MNIST_VIZ_QUIET_TF_LEVEL"
_level = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
_USER_CHOSE_LOG_LEVEL = _level is not None and _level != os.environ.get(_QUIET_MARK)
if not _USER_CHOSE_LOG_LEVEL:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = os.environ[_QUIET_MARK] = "3"


@contextlib.contextmanager
def _native_stderr_silenced():
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable descriptor 2: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


if _USER_CHOSE_LOG_LEVEL or ("tensorflow" in sys.modules and "keras" in sys.modules):
    import keras
    import tensorflow as tf
else:
    with _native_stderr_silenced():
        import keras
        import tensorflow as tf


class _ExpectedRetracing(logging.Filter):
    """The feature ascent compiles one loop per (model, layer) on purpose, which
    TensorFlow reports as "retracing" once a few layers have been visited."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


tf.get_logger().addFilter(_ExpectedRetracing())

__all__ = ["keras", "tf"]
