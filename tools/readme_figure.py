"""Draw the README's figure: what the series makes, in three rows of ten digits.

    python tools/readme_figure.py docs/images/digits.png

Row by row: the tutorial's method on its network, the regularised method on the
same network (notebook 03), and plain steps with a shift and an ink charge on the
robust network (notebook 04). The networks come from the cache (trained first if
missing), so the figure always shows what the package draws today.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

import mnist_viz as mv
from mnist_viz._files import atomic_write

ROWS = {
    "the tutorial's method\n(standard network)": ("standard", mv.REFERENCE),
    "regularised\n(standard network)": ("standard", mv.REGULARIZED),
    "plain + shift + L1\n(robust network)": ("robust", mv.PLAIN_SHIFT_L1),
}


def figure(seed: int = 0) -> Figure:
    """The three rows, each method's first restart from ``seed``."""
    data = mv.load_mnist()
    networks = {name: mv.get_network(name, data) for name in ("standard", "robust")}
    digits = [
        mv.visualize_digits(networks[network], settings, seed=seed)[0]
        for network, settings in ROWS.values()
    ]
    return mv.plot_image_grid(
        np.concatenate(digits),
        ncols=10,
        size=0.8,
        rows=list(ROWS),
        titles=[str(d) for d in range(10)] + [""] * 20,
    )


def draw(path: Path, seed: int = 0) -> Path:
    """Write the figure to ``path`` (a PNG) in one rename."""
    drawn = figure(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        drawn.savefig(tmp, dpi=100, format="png")
    return path


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: readme_figure.py OUT.png", file=sys.stderr)
        return 2
    print("wrote", draw(Path(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
