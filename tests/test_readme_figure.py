"""make figure (tools/readme_figure.py): three labelled rows of ten digits, written whole."""

import subprocess
import sys
from pathlib import Path

import matplotlib.image
import pytest

import mnist_viz as mv

TOOL = Path(__file__).resolve().parent.parent / "tools" / "readme_figure.py"


@pytest.fixture(scope="module")
def stand_in_cache(tmp_path_factory, trained_model):
    """The quickly trained test model stands in for both networks."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MNIST_VIZ_CACHE", str(folder))
        for name in ("standard", "robust"):
            mv.save_network(trained_model, name)
    return folder


def test_the_figure_has_three_named_rows_of_ten_digits(tmp_path, stand_in_cache, monkeypatch):
    sys.path.insert(0, str(TOOL.parent))
    import readme_figure

    assert len(readme_figure.ROWS) == 3
    assert [settings for _, settings in readme_figure.ROWS.values()] == [
        mv.REFERENCE,
        mv.REGULARIZED,
        mv.PLAIN_SHIFT_L1,
    ]
    monkeypatch.setenv("MNIST_VIZ_CACHE", str(stand_in_cache))
    drawn = readme_figure.figure()
    assert len(drawn.axes) == 30
    assert [ax.get_ylabel() for ax in drawn.axes[::10]] == list(readme_figure.ROWS)
    assert all(ax.images[0].get_array().shape == (28, 28) for ax in drawn.axes)
    out = tmp_path / "images" / "digits.png"
    done = subprocess.run(
        [sys.executable, str(TOOL), str(out)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert matplotlib.image.imread(out).shape[1] == 800  # ten images of 0.8 inch, at 100 dpi
    assert sorted(p.name for p in out.parent.iterdir()) == ["digits.png"]  # no temporary left


def test_a_wrong_call_says_how_to_call_it():
    done = subprocess.run([sys.executable, str(TOOL)], capture_output=True, text=True)
    assert done.returncode == 2 and "usage: readme_figure.py OUT.png" in done.stderr
