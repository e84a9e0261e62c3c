"""The launch on a notebook server: repo2docker (mybinder.org, BinderHub, a
JupyterHub's image) installs requirements.txt, then runs postBuild, which must
leave every network the notebooks load cached, so a student's session trains
none. (Notebook 01 trains its own network on purpose: that is its lesson.)

The test copies the repository's files to a new folder, as repo2docker does, and
makes a new virtual environment for it. Reinstalling TensorFlow and the rest for
every test run would take minutes, so the new environment sees this one's
installed dependencies (a path file) and gets the copied package installed
editable on its own, as requirements.txt's ``-e .`` does; the copy's cache
starts empty. Its notebooks are replaced by a stand-in that loads a small network
the way notebook 02 loads its experiments (quick to train; which network is not
the point): postBuild, run as repo2docker runs it, must train and cache it, and
the stand-in run again, as a student's session, must load it and train nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow  # see make check

ROOT = Path(__file__).resolve().parent.parent
TRAINING = "No cached model at"
STAND_IN = [
    "import mnist_viz as mv\n\n"
    "data = mv.load_mnist()\n"
    "network = mv.get_network(\n"
    "    mv.Recipe('launch stand-in', 'a tiny network', conv_filters=(4, 8), fc_units=(16,),\n"
    "              iterations=200),\n"
    "    data,\n"
    ")",
    "print(f'accuracy {mv.classification_accuracy(network, data.test):.2f}')",
]


def _copy_repository(target: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)


def _new_environment(venv: Path, repo: Path) -> dict:
    # No pip or setuptools of its own: those of this environment, seen through the
    # path file, build the package as requirements.txt's "-e ." would.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    )
    (Path(site.stdout.strip()) / "dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-e",
            str(repo),
        ],
        check=True,
        capture_output=True,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNIST_VIZ_")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    env["VIRTUAL_ENV"] = str(venv)
    env["JUPYTER_PREFER_ENV_PATH"] = "1"
    return env


def test_repo2docker_files_are_there():
    assert (ROOT / "runtime.txt").read_text().strip() == "python-3.11"
    assert "-e ." in (ROOT / "requirements.txt").read_text()
    assert os.access(ROOT / "postBuild", os.X_OK), "postBuild must be executable"


def _stand_in_notebooks(repo: Path) -> Path:
    for notebook in (repo / "notebooks").glob("*.ipynb"):
        notebook.unlink()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in STAND_IN])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = repo / "notebooks" / "loads_a_network.ipynb"
    nbformat.write(nb, path)
    return path


def _run_in(env: dict, cwd: Path, *command: str) -> subprocess.CompletedProcess:
    """``command`` run in the new environment; it must succeed (its output tail if not)."""
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def test_post_build_caches_the_networks_so_a_session_trains_none(tmp_path):
    repo, venv = tmp_path / "repo", tmp_path / "venv"
    _copy_repository(repo)
    notebook = _stand_in_notebooks(repo)
    env = _new_environment(venv, repo)
    located = _run_in(
        env, tmp_path, "python", "-c", "import mnist_viz.paths as p; print(p.models_dir())"
    )
    assert Path(located.stdout.strip()) == repo / "cache" / "models"  # the copy's, empty

    built = _run_in(env, repo, "bash", str(repo / "postBuild"))
    assert TRAINING in built.stdout  # postBuild did the training
    assert sorted(p.name for p in (repo / "cache" / "models").glob("*.keras"))

    session = _run_in(
        env,
        repo,
        "python",
        str(repo / "tools" / "run_notebooks.py"),
        "--out",
        str(tmp_path / "session"),
        str(notebook),
    )
    ran = nbformat.read(tmp_path / "session" / "notebooks" / notebook.name, as_version=4)
    said = "".join(str(cell.get("outputs", "")) for cell in ran.cells)
    assert TRAINING not in said and TRAINING not in session.stdout
    assert "accuracy 0." in said  # it ran to the end
