"""Notebook 01 alone, with the package installed from its wheel, as someone would
use it outside this repository: MNIST comes from the mirrors into the user cache
folder, the trained model goes there too, and nothing is written where the
package is installed.

The mirrors are stood in for by a local HTTP server serving the shipped files
(``MNIST_VIZ_MIRRORS`` points at it), so the test needs no internet. The wheel
is built without build isolation from a copy of the sources, so nothing in the
checkout changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from local_http import serving
from nbclient import NotebookClient

from mnist_viz import data, networks, paths

pytestmark = pytest.mark.slow  # see make check

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "01_visual_analysis_mnist.ipynb"
SOURCES = ["pyproject.toml", "README.md", "LICENSE", "mnist_viz"]


def _pip(*args: str, cwd: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The package's wheel, built from a copy of the sources and installed with
    --no-deps into a folder of its own; returns that folder."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, source / name)
    _pip(
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--wheel-dir",
        str(work / "dist"),
        str(source),
        cwd=work,
    )
    wheels = list((work / "dist").glob("mnist_viz-*.whl"))
    assert len(wheels) == 1, wheels
    target = work / "site"
    _pip("install", "--quiet", "--no-deps", "--target", str(target), str(wheels[0]), cwd=work)
    return target


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """A local HTTP server holding the four MNIST files, standing in for the mirrors."""
    folder = tmp_path_factory.mktemp("mirror")
    for gz in paths.default_data_dir().glob("*.gz"):
        shutil.copy2(gz, folder / gz.name)
    with serving(folder) as url:
        yield url + "/"


def _files(folder: Path) -> set[str]:
    return {
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_notebook_01_runs_alone_on_the_installed_wheel(installed, mirror, tmp_path):
    before = _files(installed)
    alone = tmp_path / "somewhere"
    alone.mkdir()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell("import mnist_viz\nprint('package file:', mnist_viz.__file__)")
    )
    nbformat.write(nb, alone / NOTEBOOK.name)

    cache = tmp_path / "user-cache"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in (paths.DATA_ENV_VAR, paths.CACHE_ENV_VAR)
    }
    env.update(
        PYTHONPATH=str(installed), XDG_CACHE_HOME=str(cache), **{paths.MIRRORS_ENV_VAR: mirror}
    )
    client = NotebookClient(
        nb, kernel_name="python3", timeout=1800, resources={"metadata": {"path": str(alone)}}
    )
    client.execute(env=env, cwd=str(alone))  # raises CellExecutionError if any cell fails

    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    package_file = Path(printed.split("package file:", 1)[1].strip())
    assert package_file.parent.parent == installed, package_file
    assert _files(installed) == before, "the notebook wrote inside the install folder"
    user_cache = cache / "mnist-viz"
    assert sorted(p.name for p in (user_cache / "MNIST").iterdir()) == sorted(
        spec.filename for spec in data.MNIST_FILES.values()
    )
    # notebook 01 saves its network where get_network("standard") looks for it
    saved = [p.name for p in (user_cache / "models").iterdir()]
    assert saved == [networks.network_path("standard").name]
    assert sorted(p.name for p in alone.iterdir()) == [NOTEBOOK.name]


def test_first_cell_imports_the_package_in_one_line_with_a_hint():
    """The setup cell is short: one import of mnist_viz, with the install command
    in a comment for a Jupyter that does not have it."""
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cell = next(c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code")
        imports = [line for line in cell.source.splitlines() if "import mnist_viz as mv" in line]
        assert imports == [
            "import mnist_viz as mv  # not found? In the checkout run "
            "`pip install -e .`, then restart the kernel"
        ], notebook.name
        assert len(cell.source.splitlines()) <= 16, notebook.name


def test_the_projects_kernel_imports_this_checkout(tmp_path):
    """A notebook opened with the kernel that make setup registers finds the
    package of this checkout, wherever the notebook lies."""
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import mnist_viz as mv\nprint(mv.__file__)")]
    )
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    assert Path(nb.cells[0].outputs[0]["text"].strip()) == ROOT / "mnist_viz" / "__init__.py"
