"""Grade submitted notebooks with otter-grader and write one table for the class.

    python tools/grade.py SUBMISSIONS_DIR --autograder build/assignment/autograder/02_exercises.zip

Each notebook in the folder is run by ``otter run`` (no Docker) against the
autograder that ``make assignment`` wrote, in its own process, with the cached
networks. A cell that raises does not stop the run: the other questions are still
graded. A submission still running after ``--timeout`` seconds is stopped and
marked. The table (default build/grades.csv) has one row per submission, one
column per graded question, the total and a note.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from mnist_viz._files import atomic_write

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_TIMEOUT_S = 600
PUBLIC = "Public Tests"


def grade_one(submission: Path, autograder: Path, timeout: float) -> tuple[dict, str]:
    """The points per question of one submission, and a note (empty when all went well)."""
    with tempfile.TemporaryDirectory(prefix="grade-") as out:
        command = [
            sys.executable,
            "-m",
            "otter",
            "run",
            "--no-logo",
            "-a",
            str(autograder),
            "-o",
            out,
            str(submission),
        ]
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            log, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # otter, its kernel and their children
            process.communicate()
            return {}, f"stopped after {timeout:.0f} s: it did not finish"
        results = Path(out) / "results.json"
        if process.returncode != 0 or not results.is_file():
            last = (log or "").strip().splitlines()[-1:] or ["no output"]
            return {}, f"not graded: otter run failed ({last[0][:200]})"
        tests = json.loads(results.read_text())["tests"]
    return {t["name"]: t["score"] for t in tests if t["name"] != PUBLIC}, ""


def questions_of(autograder: Path) -> list[str]:
    """The graded questions of an autograder zip, in order."""
    with zipfile.ZipFile(autograder) as archive:
        names = [
            Path(n).stem for n in archive.namelist() if n.startswith("tests/") and n.endswith(".py")
        ]
    return sorted(names, key=lambda name: (len(name), name))


def grade_all(
    submissions: Path, autograder: Path, out: Path, timeout: float = DEFAULT_TIMEOUT_S
) -> list[dict]:
    """Grade every notebook in ``submissions``; write the table to ``out``; return its rows."""
    notebooks = sorted(submissions.glob("*.ipynb"))
    if not notebooks:
        raise SystemExit(f"grade: no notebooks (*.ipynb) in {submissions}")
    questions = questions_of(autograder)
    rows = []
    for notebook in notebooks:
        started = time.monotonic()
        points, note = grade_one(notebook, autograder, timeout)
        row = {"submission": notebook.name, **{q: points.get(q, 0.0) for q in questions}}
        row["total"] = sum(row[q] for q in questions)
        row["note"] = note
        rows.append(row)
        print(
            f"{notebook.name}: {row['total']:g} points in {time.monotonic() - started:.0f} s"
            + (f" ({note})" if note else ""),
            flush=True,
        )
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=["submission", *questions, "total", "note"])
    writer.writeheader()
    writer.writerows(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out) as tmp:
        tmp.write_text(table.getvalue())
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", type=Path, help="folder of submitted notebooks")
    parser.add_argument(
        "--autograder",
        type=Path,
        default=ROOT / "build" / "assignment" / "autograder" / "02_exercises.zip",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "grades.csv")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds one submission may run (default {DEFAULT_TIMEOUT_S})",
    )
    args = parser.parse_args(argv)
    if not args.submissions.is_dir():
        parser.error(f"no such folder: {args.submissions}")
    if not args.autograder.is_file():
        parser.error(f"no autograder at {args.autograder}: run `make assignment` first")
    grade_all(args.submissions, args.autograder, args.out, args.timeout)
    print(f"Grades: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
