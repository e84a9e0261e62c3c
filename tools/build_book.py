"""Build the course's book: a static site of the README, the notebooks and the
teacher's guide (Sphinx, myst-nb, sphinx-book-theme).

    python tools/build_book.py --notebooks build/notebooks --out build/site

The notebooks are shown as executed (their stored outputs), with their check
cells left out. The site is built in a staging folder shaped like the repository
and moved into place only when Sphinx finished without a warning. The launch
buttons appear when ``--repository`` (or MNIST_VIZ_BOOK_REPOSITORY) names the
public repository; by default there are none.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "docs" / "book"
REPOSITORY_ENV = "MNIST_VIZ_BOOK_REPOSITORY"
PAGES_BESIDE_NOTEBOOKS = ["README.md", "docs/teaching.md", "docs/images"]
SPEED = "bench/RESULTS.md"  # written by make bench
NOT_MEASURED = "# Speed\n\nNot measured on this machine yet: `make bench` writes this page.\n"


def stage(notebooks: Path, staging: Path) -> None:
    """Lay out the book's sources in ``staging`` as they sit in the repository."""
    for name in PAGES_BESIDE_NOTEBOOKS:
        source, target = ROOT / name, staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    speed = staging / SPEED
    speed.parent.mkdir(parents=True, exist_ok=True)
    if (ROOT / SPEED).is_file():
        shutil.copy2(ROOT / SPEED, speed)
    else:
        speed.write_text(NOT_MEASURED)
    shutil.copy2(BOOK / "conf.py", staging / "conf.py")
    shutil.copy2(BOOK / "index.md", staging / "index.md")
    (staging / "notebooks").mkdir()
    for notebook in sorted(notebooks.glob("*.ipynb")):
        shutil.copy2(notebook, staging / "notebooks" / notebook.name)


def build(notebooks: Path, out: Path, repository: str = "") -> float:
    """Build the site into ``out`` (replacing it); returns the seconds it took."""
    missing = [name for name in PAGES_BESIDE_NOTEBOOKS if not (ROOT / name).exists()]
    if missing:
        raise SystemExit(f"build_book: missing {', '.join(missing)}")
    if not sorted(notebooks.glob("*.ipynb")):
        raise SystemExit(f"build_book: no notebooks in {notebooks}")
    started = time.monotonic()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="book-", dir=out.parent) as work:
        staging, site = Path(work) / "src", Path(work) / "site"
        staging.mkdir()
        stage(notebooks, staging)
        env = dict(os.environ, **{REPOSITORY_ENV: repository})
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "sphinx",
                "-W",
                "--keep-going",
                "-q",
                "-b",
                "html",
                "-d",
                str(Path(work) / "doctrees"),
                str(staging),
                str(site),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(f"build_book: Sphinx failed:\n{done.stdout}{done.stderr}")
        shutil.rmtree(out, ignore_errors=True)
        site.rename(out)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--notebooks",
        type=Path,
        default=ROOT / "notebooks",
        help="folder of executed notebooks (default: the committed ones)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    parser.add_argument(
        "--repository",
        default=os.environ.get(REPOSITORY_ENV, ""),
        help="the public repository's address, for launch buttons",
    )
    args = parser.parse_args(argv)
    seconds = build(args.notebooks, args.out, args.repository)
    print(f"Built the book in {seconds:.0f} s: open {args.out / 'index.html'} in a browser.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
