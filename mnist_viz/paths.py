"""Where the package reads and writes.

Run from a checkout of the repository (``make setup`` installs it editable), or
from any folder inside one, it uses the checkout's ``data/MNIST`` (shipped with
it) and ``cache/models``. Otherwise it never writes inside its install folder:
MNIST and trained models go to the platform's user cache folder (on Linux
``~/.cache/mnist-viz``). Environment variables override each folder.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import platformdirs

DATA_ENV_VAR = "MNIST_VIZ_DATA"
CACHE_ENV_VAR = "MNIST_VIZ_CACHE"
MIRRORS_ENV_VAR = "MNIST_VIZ_MIRRORS"


class CacheFolderError(PermissionError):
    """A folder the package must write to cannot be written."""


def _is_checkout(folder: Path) -> bool:
    pyproject = folder / "pyproject.toml"
    return (
        (folder / "data" / "MNIST").is_dir()
        and pyproject.is_file()
        and 'name = "mnist-viz"' in pyproject.read_text(errors="replace")
    )


def checkout_root() -> Path | None:
    """The repository root when the package runs from a checkout, or when the
    current folder lies inside one (a notebook opened in a checkout, with the
    package installed by pip); else None."""
    candidates = [Path(__file__).resolve().parent.parent]
    try:
        here = Path.cwd()
        candidates += [here, *here.parents]
    except OSError:  # the current folder was deleted
        pass
    return next((folder for folder in candidates if _is_checkout(folder)), None)


def user_cache_dir() -> Path:
    """The platform's cache folder for this package (``~/.cache/mnist-viz`` on Linux)."""
    return Path(platformdirs.user_cache_dir("mnist-viz", appauthor=False))


def default_data_dir() -> Path:
    """The checkout's ``data/MNIST``, else ``<user cache>/MNIST``."""
    root = checkout_root()
    return root / "data" / "MNIST" if root else user_cache_dir() / "MNIST"


def models_dir() -> Path:
    """``$MNIST_VIZ_CACHE``, else the checkout's ``cache/models``, else ``<user cache>/models``."""
    if os.environ.get(CACHE_ENV_VAR):
        return Path(os.environ[CACHE_ENV_VAR]).expanduser()
    root = checkout_root()
    return root / "cache" / "models" if root else user_cache_dir() / "models"


def writable_folder(folder: str | os.PathLike, env_var: str) -> Path:
    """``folder``, created if needed, after proving a file can be written in it;
    otherwise a :class:`CacheFolderError` that names ``env_var`` as the way out."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise CacheFolderError(
            f"cannot write to the folder {str(folder)!r} ({reason}); set {env_var} to a "
            "folder you can write to."
        ) from None
    return folder
