"""The README's "Using the package" example runs as printed."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # see make check

README = Path(__file__).resolve().parent.parent / "README.md"


def _example() -> str:
    section = README.read_text().split("## Using the package", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_using_the_package_example_runs(capsys):
    namespace = {}
    exec(compile(_example(), "README.md", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    accuracy = next(float(line) for line in printed if re.fullmatch(r"0\.\d+", line.strip()))
    assert 0.9 < accuracy <= 1.0  # 1,000 iterations of the tutorial's recipe
    assert namespace["images"].shape == (10, 28, 28)
    assert namespace["digits"].shape == (10, 28, 28)
    assert namespace["result"].images.shape == (40, 28, 28)
    assert namespace["result"].objective.shape == (100, 40)
    assert [line.split(":")[0] for line in printed if line.startswith("Step")] == [
        "Step   50/100",
        "Step  100/100",
    ]
    assert namespace["fourier"].shape == (1, 10, 28, 28)
