"""The committed notebooks: stored outputs must come from one clean top-to-bottom run."""

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
IGNORE_TAG = "nbval-ignore-output"


def code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS][:1] == ["01_visual_analysis_mnist.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_valid_nbformat(path):
    nbformat.validate(nbformat.read(path, as_version=4))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_executed_top_to_bottom_in_order(path):
    counts = [c.execution_count for c in code_cells(path)]
    assert counts == list(range(1, len(counts) + 1))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_stored_errors_or_failed_checks(path):
    for cell in code_cells(path):
        for output in cell.outputs:
            assert output.output_type != "error", cell.source
            text = output.get("text", "")
            if IGNORE_TAG not in cell.metadata.get("tags", []):
                assert ": False" not in text, f"a check cell printed False: {text}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_check_cells_are_compared(path):
    """Every cell that prints a threshold fact is compared by nbval, never ignored."""
    for cell in code_cells(path):
        printed = "".join(o.get("text", "") for o in cell.outputs)
        if ": True" in printed:
            assert IGNORE_TAG not in cell.metadata.get("tags", []), cell.source
