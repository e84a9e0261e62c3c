"""Run notebooks top to bottom, showing progress.

    python tools/run_notebooks.py notebooks/*.ipynb --out build

For each notebook a progress bar (tqdm) names the notebook and counts its code
cells with the elapsed time, and the lines the cells print (training progress,
for one) are shown as they arrive. Executed notebooks go to OUT/notebooks, from
where ``make run`` builds the book (tools/build_book.py). With --inplace the
notebooks' stored outputs are refreshed instead (a notebook with a failing cell
is left as it was). Either way no cell keeps its execution timestamps.

The kernel talks to this process over local IPC sockets where the platform has
them, so it has no reason to warn about unencrypted TCP traffic.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from tqdm import tqdm

KERNEL = "python3"
CELL_TIMEOUT_S = 1800


class ProgressClient(NotebookClient):
    """A notebook client that advances a progress bar per code cell and echoes
    every line that a cell prints while it runs."""

    def __init__(self, nb, bar: tqdm, **kwargs):
        super().__init__(nb, **kwargs)
        self.bar = bar
        self.on_cell_start = self._cell_started
        self.on_cell_executed = self._cell_done

    def _cell_started(self, cell, cell_index):
        if cell.cell_type == "code":
            self.bar.set_postfix_str(f"running code cell {self.bar.n + 1}")

    def _cell_done(self, cell, cell_index, execute_reply):
        self.bar.update(1)

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] == "stream":
            for line in msg["content"]["text"].splitlines():
                if line.strip():
                    self.bar.write(f"    {line}")
        return super().output(outs, msg, display_id, cell_index)


def _keep_refreshing(bar: tqdm, stop: threading.Event) -> None:
    """Redraw the bar every second, so its elapsed time moves during a long cell."""
    while not stop.wait(1.0):
        bar.refresh()


def execute(path: Path, write_to: Path, keep_on_error: bool = True) -> bool:
    """Execute the notebook at ``path`` in its own folder and write it to
    ``write_to``; when a cell fails, write it only with ``keep_on_error`` (so the
    error can be read there). True on success."""
    nb = nbformat.read(path, as_version=4)
    code_cells = sum(cell.cell_type == "code" for cell in nb.cells)
    transport = "ipc" if os.name == "posix" else "tcp"
    with tqdm(
        total=code_cells,
        desc=path.stem,
        unit="cell",
        file=sys.stdout,
        bar_format="{desc}: {n}/{total} code cells [{elapsed}]{postfix}",
    ) as bar:
        client = ProgressClient(
            nb,
            bar,
            kernel_name=KERNEL,
            timeout=CELL_TIMEOUT_S,
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.km = client.create_kernel_manager()
        client.km.transport = transport
        stop = threading.Event()
        threading.Thread(target=_keep_refreshing, args=(bar, stop), daemon=True).start()
        with tempfile.TemporaryDirectory(prefix="mnist-viz-kernel-") as sockets:
            if transport == "ipc":  # socket files, in a short path of our own
                client.km.ip = str(Path(sockets) / "kernel")
            try:
                client.execute()
                ok = True
            except CellExecutionError as err:
                bar.write(f"{path.name}: a cell failed:\n{str(err).strip()[-2000:]}")
                ok = False
            finally:
                stop.set()
    if ok or keep_on_error:
        for cell in nb.cells:  # per-cell timestamps would make every re-run a new diff
            cell.metadata.pop("execution", None)
        nbformat.write(nb, write_to)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("build"),
        help="folder for the executed notebooks/ (default: build)",
    )
    parser.add_argument(
        "--inplace", action="store_true", help="refresh the notebooks' stored outputs instead"
    )
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")

    executed_dir = args.out / "notebooks"
    executed_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    executed, ok = [], True
    for path in args.notebooks:
        target = path if args.inplace else executed_dir / path.name
        # In place, a failed run must not replace the committed outputs.
        ok = execute(path.resolve(), target.resolve(), keep_on_error=not args.inplace) and ok
        executed.append(target)
        if not ok:
            break
    minutes, seconds = divmod(round(time.monotonic() - started), 60)
    if not ok:
        kept = "left as it was" if args.inplace else f"written to {executed[-1]}"
        print(
            f"Stopped after {minutes} min {seconds} s: a cell of {executed[-1].name} failed "
            f"(the notebook is {kept})."
        )
        if args.inplace:
            return 1
    elif args.inplace:
        print(f"Refreshed {len(executed)} notebook(s) in {minutes} min {seconds} s.")
        return 0
    if ok:
        print(f"Ran {len(executed)} notebook(s) in {minutes} min {seconds} s.")
    print(f"Executed notebooks: {executed_dir}/")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
