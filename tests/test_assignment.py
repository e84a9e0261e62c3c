"""The assignment as a teacher uses it: ``make assignment`` writes the student
editions and an autograder with otter-grader; ``make grade`` grades a folder of
submissions into one table.

The grading cases run on a stand-in assignment shaped like notebook 02 (the same
tags, self-checks and hidden tests, answers of plain NumPy values), so they take
seconds; the real notebook 02 is graded once, in the slow test at the end.
"""

from __future__ import annotations

import copy
import csv
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import grade  # noqa: E402
import make_assignment as ma  # noqa: E402

EXERCISES = ROOT / "notebooks" / "02_exercises.ipynb"
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _cell(kind, source, *tags):
    cell = new_code_cell(source) if kind == "code" else new_markdown_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def stand_in(**answers) -> nbformat.NotebookNode:
    """A solutions notebook shaped like 02: exercises 2 and 4 with answers (override
    one with ``exercise2=`` or ``exercise4=``), hidden checks, self-checks, a question."""
    exercise2 = answers.get(
        "exercise2", "images_conv3 = np.full((4, 28, 28), 0.5)\naccuracies_three = [0.99, 0.985]"
    )
    exercise4 = answers.get(
        "exercise4",
        'restarts = {"noise": np.zeros((2, 28, 28)), "mean digit": np.ones((2, 28, 28))}',
    )
    nb = new_notebook(
        cells=[
            _cell("markdown", "# A stand-in for the exercises"),
            _cell("code", "import numpy as np\n\nfrom mnist_viz import exercises"),
            _cell("markdown", "## Exercise 2: a third layer\n\n*Find the images.*"),
            _cell("code", exercise2, "solution"),
            _cell(
                "code",
                'assert min(accuracies_three) > 0.98, "every seed above 98%"',
                "check",
                "remove-cell",
            ),
            _cell("markdown", "**Answer.** Textures.", "solution"),
            _cell("code", "passed = exercises.check_exercise(globals(), 2)"),
            _cell("markdown", "## Exercise 4: restarts\n\n*Restart from many starts.*"),
            _cell("code", exercise4, "solution"),
            _cell(
                "code",
                'assert set(restarts) == {"noise", "mean digit"}, "two kinds of start"',
                "check",
                "remove-cell",
            ),
            _cell("code", "passed = exercises.check_exercise(globals(), 4)"),
            _cell("markdown", "## Questions\n\n**Question 1.** Why three seeds?"),
            _cell("markdown", "**Answer.** Noise.", "solution"),
        ]
    )
    nb.metadata["kernelspec"] = KERNEL
    return nb


def submitted(nb: nbformat.NotebookNode, assignment: str) -> nbformat.NotebookNode:
    """``nb`` as a student hands it in: the student edition's notebook, answered, so
    it names its assignment as the student edition does."""
    nb = copy.deepcopy(nb)
    nb.metadata.setdefault("otter", {})["assignment_name"] = assignment
    return nb


@pytest.fixture(scope="module")
def assignment(tmp_path_factory) -> Path:
    """The stand-in assigned: OUT/student/stand_in.ipynb and OUT/autograder/stand_in.zip."""
    work = tmp_path_factory.mktemp("assignment")
    source = work / "stand_in.ipynb"
    nbformat.write(stand_in(), source)
    ma.assign(source, work / "out")
    return work / "out"


def _grade(assignment: Path, tmp_path: Path, notebooks: dict, timeout: float = 120) -> dict:
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name, nb in notebooks.items():
        nbformat.write(submitted(nb, "stand_in"), folder / f"{name}.ipynb")
    out = tmp_path / "grades.csv"
    grade.grade_all(folder, assignment / "autograder" / "stand_in.zip", out, timeout)
    with out.open() as table:
        return {row["submission"].removesuffix(".ipynb"): row for row in csv.DictReader(table)}


def test_the_student_edition_blanks_answers_and_leaves_out_checks(assignment):
    student = nbformat.read(assignment / "student" / "stand_in.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in student.cells)
    assert "np.full((4, 28, 28), 0.5)" not in text and "Textures" not in text
    assert "Noise." not in text and "assert " not in text
    assert text.count(ma.CODE_PROMPT) == 2 and text.count(ma.ANSWER_PROMPT) == 2
    assert 'grader.check("exercise2")' in text and 'grader.check("exercise4")' in text
    assert all(cell.get("outputs", []) == [] for cell in student.cells)


@pytest.mark.slow  # a kernel per notebook or otter assign per lesson
def test_a_blank_edition_runs_and_each_check_says_what_is_missing(assignment):
    """As a student first opens it: every cell run in order, nothing raises, and each
    grader.check says the exercise is not answered yet, naming what to define."""
    student = nbformat.read(assignment / "student" / "stand_in.ipynb", as_version=4)
    NotebookClient(
        student,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(assignment / "student")}},
    ).execute()
    said = {
        cell.source: str(cell.outputs) for cell in student.cells if "grader.check(" in cell.source
    }
    assert (
        "Exercise 2: not answered yet (define images_conv3, accuracies_three)"
        in (said['grader.check("exercise2")'])
    )
    assert "Exercise 4: not answered yet (define restarts)" in said['grader.check("exercise4")']
    errors = [o for c in student.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []


@pytest.mark.slow  # a kernel per notebook or otter assign per lesson
def test_grades_full_marks_none_for_blank_and_loses_only_the_wrong_answer(assignment, tmp_path):
    blank = nbformat.read(assignment / "student" / "stand_in.ipynb", as_version=4)
    wrong = stand_in(
        exercise2="images_conv3 = np.full((4, 28, 28), 0.5)\naccuracies_three = [0.99, 0.5]"
    )  # well formed, too low
    rows = _grade(assignment, tmp_path, {"solutions": stand_in(), "blank": blank, "wrong": wrong})
    scores = {
        name: (row["exercise2"], row["exercise4"], row["total"], row["note"])
        for name, row in rows.items()
    }
    assert scores == {
        "solutions": ("2.0", "2.0", "4.0", ""),
        "blank": ("0.0", "0.0", "0.0", ""),
        "wrong": ("0.0", "2.0", "2.0", ""),
    }


@pytest.mark.slow  # a kernel per notebook or otter assign per lesson
def test_a_cell_that_raises_does_not_stop_the_grading(assignment, tmp_path):
    broken = stand_in(exercise2="raise RuntimeError('my code broke')")
    rows = _grade(assignment, tmp_path, {"broken": broken})
    assert (rows["broken"]["exercise2"], rows["broken"]["exercise4"]) == ("0.0", "2.0")


@pytest.mark.slow  # a kernel per notebook or otter assign per lesson
def test_a_submission_that_never_stops_is_cut_off_and_marked(assignment, tmp_path):
    endless = stand_in(exercise4="import time\nwhile True:\n    time.sleep(1)")
    started = time.monotonic()
    rows = _grade(assignment, tmp_path, {"endless": endless}, timeout=15)
    assert time.monotonic() - started < 60
    assert rows["endless"]["total"] == "0.0"
    assert rows["endless"]["note"] == "stopped after 15 s: it did not finish"


@pytest.mark.slow  # a kernel per notebook or otter assign per lesson
def test_every_lesson_gets_a_student_edition_and_only_02_an_autograder(tmp_path):
    for lesson in LESSONS:
        ma.assign(lesson, tmp_path)
    assert sorted(p.name for p in (tmp_path / "student").iterdir()) == [p.name for p in LESSONS]
    assert [p.name for p in (tmp_path / "autograder").iterdir()] == ["02_exercises.zip"]
    assert grade.questions_of(tmp_path / "autograder" / "02_exercises.zip") == [
        f"exercise{n}" for n in range(1, 5)
    ]
    for lesson in LESSONS:
        source = nbformat.read(lesson, as_version=4)
        student = nbformat.read(tmp_path / "student" / lesson.name, as_version=4)
        nbformat.validate(student)
        text = "\n".join(cell.source for cell in student.cells)
        assert "assert " not in text, f"{lesson.name}: a check cell reached students"
        for cell in source.cells:
            if ma.is_solution(cell):
                for line in cell.source.splitlines():
                    if len(line.strip()) > 25:
                        assert line not in text, f"{lesson.name}: answer shown: {line}"


def test_command_line_rejects_a_missing_notebook_and_folder(tmp_path):
    for tool, args in [
        ("make_assignment.py", [str(tmp_path / "none.ipynb")]),
        ("grade.py", [str(tmp_path / "none")]),
    ]:
        done = subprocess.run(
            [sys.executable, str(ROOT / "tools" / tool), *args], capture_output=True, text=True
        )
        assert done.returncode == 2 and "no such" in done.stderr


@pytest.mark.slow
def test_notebook_02_solutions_score_full_marks(tmp_path):
    """The real assignment, with the networks cached: the solutions notebook, handed in
    as a student's notebook, gets every point (its hidden tests hold on this CPU)."""
    ma.assign(EXERCISES, tmp_path / "out")
    folder = tmp_path / "submissions"
    folder.mkdir()
    nbformat.write(
        submitted(nbformat.read(EXERCISES, as_version=4), EXERCISES.stem),
        folder / "solutions.ipynb",
    )
    rows = grade.grade_all(
        folder, tmp_path / "out" / "autograder" / "02_exercises.zip", tmp_path / "grades.csv"
    )
    assert [(row["total"], row["note"]) for row in rows] == [(8.0, "")]
