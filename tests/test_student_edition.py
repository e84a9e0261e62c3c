"""The student edition: solutions removed, everything else kept, and it runs."""

import copy
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
    kept = [c for c in solutions.cells if not se.is_check(c)]
    assert len(student.cells) == len(kept)
    tagged = [c for c in solutions.cells if se.is_solution(c)]
    assert len(tagged) >= 10
    for original, generated in zip(kept, student.cells):
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


@pytest.mark.slow
def test_a_blank_edition_runs_top_to_bottom_and_every_self_check_says_not_answered_yet(pair):
    """As a student first opens it: no answer written, every cell run in order.
    No cell raises, and each exercise's self-check says it is not answered yet."""
    student = copy.deepcopy(pair[1])
    NotebookClient(student, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(EXERCISES.parent)}}).execute()
    checks = [c for c in student.cells
              if c.cell_type == "code" and "exercises.check_exercise(" in c.source]
    assert len(checks) == 4
    for number, cell in enumerate(checks, start=1):
        said = "".join(o.get("text", "") for o in cell.outputs)
        assert said.startswith(f"Exercise {number}: not answered yet (define "), said
    errors = [o for c in student.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert errors == []


def test_the_solutions_pass_every_self_check():
    """The solutions notebook's stored outputs: each self-check passed."""
    solutions = nbformat.read(EXERCISES, as_version=4)
    said = ["".join(o.get("text", "") for o in c.outputs) for c in solutions.cells
            if c.cell_type == "code" and "exercises.check_exercise(" in c.source]
    assert said == [f"Exercise {n}: the answer has the expected shape and range\n"
                    for n in range(1, 5)]


def test_command_line_rejects_missing_notebook(tmp_path, capsys):
    assert se.main([str(tmp_path / "none.ipynb"), str(tmp_path / "out.ipynb")]) == 2
    assert "no notebook at" in capsys.readouterr().err
    assert not (tmp_path / "out.ipynb").exists()


def test_check_cells_are_left_out_and_answers_blanked(tmp_path):
    lesson = ROOT / "notebooks" / "04_robust_network.ipynb"
    source = nbformat.read(lesson, as_version=4)
    student = nbformat.read(se.write_student_edition(lesson, tmp_path / "04.ipynb"), as_version=4)
    checks = [c for c in source.cells if se.is_check(c)]
    assert checks and not any(se.is_check(c) for c in student.cells)
    assert len(student.cells) == len(source.cells) - len(checks)
    text = "\n".join(c.source for c in student.cells)
    assert "assert " not in text
    answers = [c for c in source.cells if se.is_solution(c)]
    assert len(answers) >= 4 and text.count(se.ANSWER_PROMPT) == len(answers)
