"""Import TensorFlow and Keras once, without the native log lines they print.

TensorFlow's C++ side writes start-up messages ("oneDNN custom operations are
on", "could not find cuda drivers") straight to file descriptor 2, where a
notebook shows them in red under the first cell. Some come before TensorFlow reads
TF_CPP_MIN_LOG_LEVEL, so setting it does not hide them. They are silenced while
TensorFlow is imported (and only then), unless the user sets TF_CPP_MIN_LOG_LEVEL
to 0, asking to see everything.
"""

import contextlib
import logging
import os
import sys

from mnist_viz._logs import SHOW_ALL


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


if SHOW_ALL or ("tensorflow" in sys.modules and "keras" in sys.modules):
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
