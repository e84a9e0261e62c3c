"""Make the course's assignment with otter-grader: each notebook's student
edition, and an autograder for the exercises of notebook 02.

    python tools/make_assignment.py --out build/assignment notebooks/*.ipynb

The notebooks stay the source of truth; their tags say what is what:

* cells tagged ``solution`` are answers: the student edition blanks them;
* cells tagged ``check`` back the text with assertions: left out of the
  student edition; inside an exercise they are its hidden tests;
* a section headed ``## Exercise N`` is a question; when it ends with a
  self-check cell (``exercises.check_exercise(globals(), N)``) it is graded
  automatically: the self-check becomes its public test, which the student runs
  with ``grader.check("exerciseN")`` and which says "not answered yet" until it
  is answered. Other answers (a written exercise, the closing questions) are
  questions the teacher reads.

Each notebook is rewritten in otter's assignment format and handed to
``otter assign``, which writes OUT/student/<notebook> and, for notebooks with
graded exercises, OUT/autograder/<notebook stem>.zip (what ``make grade`` uses).
"""

from __future__ import annotations

import argparse
import copy
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_raw_cell

from mnist_viz._files import atomic_write

SOLUTION_TAG = "solution"
CHECK_TAG = "check"
EXERCISE_HEADING = re.compile(r"^## Exercise (\d+)\b")
SELF_CHECK = re.compile(r"exercises\.check_exercise\(globals\(\), (\d+)\)")
CODE_PROMPT = "# Write your code here."
ANSWER_PROMPT = "_Type your answer here, replacing this text._"  # otter's own words
POINTS_PER_EXERCISE = 2


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def is_solution(cell) -> bool:
    return SOLUTION_TAG in tags(cell)


def is_check(cell) -> bool:
    return CHECK_TAG in tags(cell)


def exercise_number(cell) -> int | None:
    match = cell.cell_type == "markdown" and EXERCISE_HEADING.match(cell.source)
    return int(match.group(1)) if match else None


def self_check_number(cell) -> int | None:
    match = cell.cell_type == "code" and SELF_CHECK.search(cell.source)
    return int(match.group(1)) if match else None


def _config(name: str, graded: bool) -> nbformat.NotebookNode:
    return new_raw_cell(
        "\n".join(
            [
                "# ASSIGNMENT CONFIG",
                f"name: {name}",
                "requirements: null",
                "export_cell: false",
                f"init_cell: {str(graded).lower()}",
                "check_all_cell: false",
                "run_tests: false",
                f"generate: {str(graded).lower()}",
                "solutions_pdf: false",
                "template_pdf: false",
            ]
        )
    )


def _question(name: str, manual: bool) -> nbformat.NotebookNode:
    settings = (
        ["manual: true", "points: 0"]
        if manual
        else [f"points: {POINTS_PER_EXERCISE}", "all_or_nothing: true"]
    )
    return new_raw_cell("\n".join(["# BEGIN QUESTION", f"name: {name}", *settings]))


def _solution(cell, manual: bool) -> list:
    """A solution cell in otter's blocks: the student sees a prompt in its place
    (for a written answer to a question the teacher reads, otter adds it)."""
    cell = copy.deepcopy(cell)
    cell.metadata["tags"] = [t for t in tags(cell) if t != SOLUTION_TAG]
    if cell.cell_type == "code":
        cell.source = (
            f"# BEGIN PROMPT\n{CODE_PROMPT}\n# END PROMPT\n"
            f"# BEGIN SOLUTION NO PROMPT\n{cell.source}\n# END SOLUTION"
        )
        cell.outputs, cell.execution_count = [], None
        return [new_raw_cell("# BEGIN SOLUTION"), cell, new_raw_cell("# END SOLUTION")]
    prompt = [] if manual else [new_markdown_cell(ANSWER_PROMPT)]
    return [*prompt, new_raw_cell("# BEGIN SOLUTION"), cell, new_raw_cell("# END SOLUTION")]


def _tests(number: int, hidden: list) -> list:
    """The exercise's tests: its self-check (public), then its check cells (hidden)."""
    public = new_code_cell(f"exercises.assert_exercise(globals(), {number})")
    header = '""" # BEGIN TEST CONFIG\nhidden: true\n""" # END TEST CONFIG\n'
    return [
        new_raw_cell("# BEGIN TESTS"),
        public,
        *(new_code_cell(header + cell.source) for cell in hidden),
        new_raw_cell("# END TESTS"),
    ]


def _exercise_end(cells: list, start: int) -> int:
    """The index after an exercise's last cell: the next level-2 heading, or the end."""
    for index in range(start + 1, len(cells)):
        if cells[index].cell_type == "markdown" and cells[index].source.startswith("## "):
            return index
    return len(cells)


def master_notebook(notebook: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """``notebook`` rewritten in otter's assignment format (see the module's docstring)."""
    cells = notebook.cells
    graded = any(self_check_number(cell) for cell in cells)
    out, index, answers = [_config(name, graded)], 0, 0
    while index < len(cells):
        cell = cells[index]
        number = exercise_number(cell)
        if number is not None:
            end = _exercise_end(cells, index)
            section = cells[index:end]
            checked = any(self_check_number(c) == number for c in section)
            out.append(_question(f"exercise{number}", manual=not checked))
            hidden = []
            for inner in section:
                if is_check(inner):
                    hidden.append(inner)
                elif self_check_number(inner) is None:
                    out += _solution(inner, not checked) if is_solution(inner) else [inner]
            if checked:
                out += _tests(number, hidden)
            out.append(new_raw_cell("# END QUESTION"))
            index = end
            continue
        if is_solution(cell):  # an answer outside an exercise: the teacher reads it
            prompt = out.pop() if out[-1].cell_type == "markdown" else None
            answers += 1
            out.append(_question(f"question{answers}", manual=True))
            if prompt is not None:
                out.append(prompt)
            while index < len(cells) and is_solution(cells[index]):
                out += _solution(cells[index], manual=True)
                index += 1
            out.append(new_raw_cell("# END QUESTION"))
            continue
        if not is_check(cell):
            out.append(cell)
        index += 1
    master = copy.deepcopy(notebook)
    master.cells = out
    return master


def assign(notebook: Path, out: Path) -> None:
    """Run ``otter assign`` on ``notebook``'s master version; the student edition goes
    to OUT/student/, the autograder (when it has graded exercises) to OUT/autograder/."""
    with tempfile.TemporaryDirectory(prefix="assign-") as work:
        master = Path(work) / notebook.name
        nbformat.write(
            master_notebook(nbformat.read(notebook, as_version=4), notebook.stem), master
        )
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "otter",
                "assign",
                "--no-pdfs",
                "--no-run-tests",
                master.name,
                "dist",
            ],
            cwd=work,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(f"otter assign failed on {notebook.name}:\n{done.stdout}{done.stderr}")
        dist = Path(work) / "dist"
        _copy(dist / "student" / notebook.name, out / "student" / notebook.name)
        zips = sorted((dist / "autograder").glob("*-autograder_*.zip"))
        if zips:
            _copy(zips[-1], out / "autograder" / f"{notebook.stem}.zip")


def _copy(source: Path, target: Path) -> None:
    """Copy whole or not at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(target) as tmp:
        tmp.write_bytes(source.read_bytes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("build") / "assignment")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    for notebook in args.notebooks:
        assign(notebook, args.out)
        print(f"wrote {args.out / 'student' / notebook.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
