"""Generate the student edition of a solutions notebook.

Cells tagged ``solution`` lose their content: a code cell becomes
``# Write your code here.``, a markdown cell (a written answer) becomes a prompt
for the student's own answer. Cells tagged ``check`` (the assertions that back
the text) are left out, so an unanswered exercise never fails one. Every other
cell is kept as it is, and all outputs and execution counts are cleared, so the
two editions never drift apart.

    python tools/student_edition.py notebooks/02_exercises.ipynb build/student/02_exercises.ipynb
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

import nbformat

from mnist_viz._files import atomic_write

SOLUTION_TAG = "solution"
CHECK_TAG = "check"
CODE_PROMPT = "# Write your code here.\n"
ANSWER_PROMPT = "*Write your answer here.*"


def is_solution(cell) -> bool:
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def is_check(cell) -> bool:
    return CHECK_TAG in cell.get("metadata", {}).get("tags", [])


def student_edition(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``notebook`` with solutions blanked, check cells left out and all
    outputs cleared."""
    student = copy.deepcopy(notebook)
    student.cells = [cell for cell in student.cells if not is_check(cell)]
    for cell in student.cells:
        if is_solution(cell):
            cell.source = CODE_PROMPT if cell.cell_type == "code" else ANSWER_PROMPT
            cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t != SOLUTION_TAG]
            if not cell.metadata["tags"]:
                del cell.metadata["tags"]
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return student


def write_student_edition(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Read ``source``, write its student edition to ``target`` atomically."""
    source, target = Path(source), Path(target)
    if not source.is_file():
        raise FileNotFoundError(f"no notebook at {source}")
    student = student_edition(nbformat.read(source, as_version=4))
    nbformat.validate(student)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(target) as tmp:
        nbformat.write(student, str(tmp))
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: student_edition.py SOLUTIONS.ipynb STUDENT.ipynb", file=sys.stderr)
        return 2
    try:
        print("wrote", write_student_edition(*argv))
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
