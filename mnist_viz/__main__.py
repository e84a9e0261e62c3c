"""``python -m mnist_viz``: see :mod:`mnist_viz.cli`."""

import sys

from mnist_viz.cli import main

sys.exit(main())
