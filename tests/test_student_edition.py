"""The student edition: solutions removed, everything else kept, and it runs."""

import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import student_edition as se  # noqa: E402

EXERCISES = ROOT / "notebooks" / "02_exercises.ipynb"


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    target = tmp_path_factory.mktemp("student") / "02_exercises.ipynb"
    se.write_student_edition(EXERCISES, target)
    return nbformat.read(EXERCISES, as_version=4), nbformat.read(target, as_version=4)


def test_student_notebook_is_readable_by_others(tmp_path):
    target = se.write_student_edition(EXERCISES, tmp_path / "s.ipynb")
    assert target.stat().st_mode & 0o044 == 0o044  # not a private temporary file


def test_student_notebook_is_valid(pair):
    nbformat.validate(pair[1])


def test_every_solution_removed_and_the_rest_kept(pair):
    solutions, student = pair
    assert len(student.cells) == len(solutions.cells)
    tagged = [c for c in solutions.cells if se.is_solution(c)]
    assert len(tagged) >= 10
    for original, generated in zip(solutions.cells, student.cells):
        assert generated.cell_type == original.cell_type
        if se.is_solution(original):
            expected = se.CODE_PROMPT if original.cell_type == "code" else se.ANSWER_PROMPT
            assert generated.source == expected
        else:
            assert generated.source == original.source
        assert not se.is_solution(generated)


def test_no_solution_code_survives(pair):
    solutions, student = pair
    text = "\n".join(c.source for c in student.cells)
    for cell in solutions.cells:
        if se.is_solution(cell) and cell.cell_type == "code":
            for line in cell.source.splitlines():
                if len(line.strip()) > 25:
                    assert line not in text


def test_outputs_cleared(pair):
    for cell in pair[1].cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_runs_up_to_the_first_exercise(pair):
    student = pair[1]
    first = next(i for i, c in enumerate(student.cells)
                 if c.cell_type == "markdown" and c.source.startswith("## Exercise 1"))
    head = nbformat.v4.new_notebook(cells=student.cells[:first], metadata=student.metadata)
    NotebookClient(head, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(EXERCISES.parent)}}).execute()
    assert any(c.cell_type == "code" and c.outputs for c in head.cells)


def test_command_line_rejects_missing_notebook(tmp_path, capsys):
    assert se.main([str(tmp_path / "none.ipynb"), str(tmp_path / "out.ipynb")]) == 2
    assert "no notebook at" in capsys.readouterr().err
    assert not (tmp_path / "out.ipynb").exists()
