"""make run / make execute (tools/run_notebooks.py) on small notebooks: progress
and printed lines shown, no timestamps kept, and a failed in-place run changes
nothing."""

import subprocess
import sys
from pathlib import Path

import nbformat

TOOL = Path(__file__).resolve().parent.parent / "tools" / "run_notebooks.py"


def _notebook(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# A small title"),
            *map(nbformat.v4.new_code_cell, cells),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=300
    )


def test_run_shows_progress_and_streams_lines(tmp_path):
    nb = _notebook(tmp_path / "small.ipynb", "print('iteration 1 of 2')", "print('done')")
    done = _run("--out", str(tmp_path / "build"), str(nb))
    assert done.returncode == 0, done.stderr
    assert "small: 2/2 code cells" in done.stdout
    assert "    iteration 1 of 2" in done.stdout  # printed while the cell runs
    assert "Unencrypted" not in done.stdout + done.stderr
    assert "without encryption" not in done.stdout + done.stderr
    executed = nbformat.read(tmp_path / "build" / "notebooks" / "small.ipynb", as_version=4)
    assert executed.cells[2].outputs[0]["text"] == "done\n"


def test_a_failed_in_place_run_leaves_the_notebook_as_it_was(tmp_path):
    nb = _notebook(tmp_path / "broken.ipynb", "print('fine')", "1 / 0")
    before = nb.read_bytes()
    done = _run("--inplace", str(nb))
    assert done.returncode == 1
    assert "a cell of broken.ipynb failed (the notebook is left as it was)" in done.stdout
    assert nb.read_bytes() == before


def test_executed_notebooks_keep_their_tags_and_no_timestamps(tmp_path):
    nb = _notebook(
        tmp_path / "checked.ipynb",
        "shown = 'a lesson line'\nprint(shown)",
        "assert shown, 'the hidden claim of a check cell'",
    )
    book = nbformat.read(nb, as_version=4)
    book.cells[2].metadata["tags"] = ["check", "remove-cell"]
    nbformat.write(book, nb)
    done = _run("--out", str(tmp_path / "build"), str(nb))
    assert done.returncode == 0, done.stderr
    executed = nbformat.read(tmp_path / "build" / "notebooks" / "checked.ipynb", as_version=4)
    assert all("execution" not in cell.metadata for cell in executed.cells)
    assert executed.cells[2].metadata["tags"] == ["check", "remove-cell"]  # still in the notebook
