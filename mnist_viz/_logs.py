"""TensorFlow's log level, set before TensorFlow is imported (see :mod:`mnist_viz._tf`).

Unless the user chose a level, TF_CPP_MIN_LOG_LEVEL becomes 3 (errors only), marked
as the package's own choice, so that a child process (which inherits both
variables) does not mistake it for the user's.
"""

import os

QUIET_MARK = "MNIST_VIZ_QUIET_TF_LEVEL"
_level = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
USER_CHOSE_LOG_LEVEL = _level is not None and _level != os.environ.get(QUIET_MARK)
# TF_CPP_MIN_LOG_LEVEL=0: the user asks to see every line TensorFlow prints.
SHOW_ALL = USER_CHOSE_LOG_LEVEL and _level == "0"
if not USER_CHOSE_LOG_LEVEL:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = os.environ[QUIET_MARK] = "3"
