"""MNIST from bytes on disk to arrays: verified IDX files, splits, mini-batches.

The four MNIST files ship with the repository in ``data/MNIST/``; an installed
package keeps them in the user cache folder instead (see :mod:`mnist_viz.paths`).
Each is read with NumPy, its header checked, and the SHA-256 of its decompressed
bytes compared with the published value before any array is handed out. A
missing file is fetched from public mirrors, verified, and only then moved into
place.
"""

from __future__ import annotations

import copy
import dataclasses
import gzip
import hashlib
import os
import struct
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from mnist_viz._checks import check_positive_int
from mnist_viz._files import atomic_write
from mnist_viz.paths import DATA_ENV_VAR, MIRRORS_ENV_VAR, default_data_dir, writable_folder

# Data dimensions, named once and used everywhere.
img_size = 28
img_size_flat = img_size * img_size
img_shape = (img_size, img_size)
num_channels = 1
num_classes = 10

num_validation = 5_000

# Public copies of the original gzip files (the original host now refuses).
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)


def mirror_urls() -> tuple[str, ...]:
    """``$MNIST_VIZ_MIRRORS`` (URLs separated by spaces or commas) if set, else :data:`MIRRORS`."""
    listed = os.environ.get(MIRRORS_ENV_VAR, "").replace(",", " ").split()
    return tuple(listed) or MIRRORS


_IDX_UBYTE = 0x08


class MNISTDataError(ValueError):
    """A data file exists but its content is not what it must be."""


class MNISTMissingError(FileNotFoundError):
    """A data file is missing and could not be fetched."""


@dataclasses.dataclass(frozen=True)
class IdxFile:
    """One known IDX file: its name, its shape and its pinned checksum."""

    filename: str
    shape: tuple[int, ...]
    sha256: str


MNIST_FILES = {
    "train_images": IdxFile(
        "train-images-idx3-ubyte.gz",
        (60_000, 28, 28),
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    "train_labels": IdxFile(
        "train-labels-idx1-ubyte.gz",
        (60_000,),
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    "test_images": IdxFile(
        "t10k-images-idx3-ubyte.gz",
        (10_000, 28, 28),
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    "test_labels": IdxFile(
        "t10k-labels-idx1-ubyte.gz",
        (10_000,),
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
}


# --------------------------------------------------------------------------
# Reading and verifying IDX files
# --------------------------------------------------------------------------


def _decompressed_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it starts with the gzip magic."""
    if path.is_dir():
        raise MNISTDataError(f"{path} is a directory, but an IDX file was expected there.")
    try:
        raw = path.read_bytes()
    except PermissionError as err:
        raise MNISTDataError(
            f"{path} cannot be read ({err.strerror}); check its permissions."
        ) from err
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:
        raise MNISTDataError(
            f"{path} is not a complete gzip file ({err}). Delete it and run again "
            "to fetch a fresh copy, or replace it with the original file."
        ) from err


def parse_idx(payload: bytes, expected: IdxFile, source: str = "<bytes>") -> np.ndarray:
    """Check an IDX header against ``expected`` and return the uint8 array."""
    header = 4 + 4 * len(expected.shape)
    if len(payload) < header:
        raise MNISTDataError(
            f"{source}: only {len(payload)} bytes, too short for an IDX header "
            f"of {header} bytes. Replace the file with the original."
        )
    zero, dtype_code, ndim = struct.unpack(">HBB", payload[:4])
    if zero != 0 or dtype_code != _IDX_UBYTE or ndim != len(expected.shape):
        found = int.from_bytes(payload[:4], "big")
        wanted = (_IDX_UBYTE << 8) | len(expected.shape)
        raise MNISTDataError(
            f"{source}: magic number {found:#010x}, expected {wanted:#010x} "
            f"(unsigned bytes, {len(expected.shape)} dimensions). This is not the "
            f"MNIST file {expected.filename}."
        )
    shape = struct.unpack(f">{ndim}I", payload[4:header])
    if shape != expected.shape:
        raise MNISTDataError(
            f"{source}: dimensions {shape}, expected {expected.shape}. "
            f"This is not the MNIST file {expected.filename}."
        )
    count = int(np.prod(shape))
    if len(payload) - header != count:
        raise MNISTDataError(
            f"{source}: payload holds {len(payload) - header} bytes but the header "
            f"announces {count}. The file is truncated or padded; replace it."
        )
    return np.frombuffer(payload, dtype=np.uint8, offset=header).reshape(shape)


def read_idx(path: str | os.PathLike, expected: IdxFile) -> np.ndarray:
    """Read one IDX file (gzip or plain), verify its checksum and header."""
    path = Path(path)
    payload = _decompressed_bytes(path)
    digest = hashlib.sha256(payload).hexdigest()
    if digest != expected.sha256:
        raise MNISTDataError(
            f"{path}: SHA-256 of the decompressed bytes is {digest}, expected "
            f"{expected.sha256}. The file is corrupted or not the original; delete "
            "it and run again to fetch a fresh copy."
        )
    return parse_idx(payload, expected, source=str(path))


# --------------------------------------------------------------------------
# Fetching missing files
# --------------------------------------------------------------------------


def _download(url: str, dest, progress: bool) -> None:
    """Stream ``url`` into the open binary file ``dest``, with a progress bar."""
    from tqdm.auto import tqdm

    with urllib.request.urlopen(url, timeout=30) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        name = url.rsplit("/", 1)[-1]
        with tqdm(total=total, unit="B", unit_scale=True, desc=name, disable=not progress) as bar:
            while chunk := response.read(1 << 16):
                dest.write(chunk)
                bar.update(len(chunk))


def fetch(
    expected: IdxFile,
    data_dir: str | os.PathLike,
    mirrors: tuple[str, ...] | None = None,
    progress: bool = True,
) -> Path:
    """Download ``expected`` into ``data_dir`` from the first mirror that works.

    Each attempt goes to a temporary file in ``data_dir`` that is verified and
    then renamed into place, so no partial or unverified file is ever left.
    """
    data_dir = writable_folder(data_dir, DATA_ENV_VAR)
    target = data_dir / expected.filename
    problems = []
    for mirror in mirrors or mirror_urls():
        url = mirror.rstrip("/") + "/" + expected.filename
        try:
            with atomic_write(target) as tmp:
                with open(tmp, "wb") as dest:
                    _download(url, dest, progress)
                read_idx(tmp, expected)
            return target
        except (urllib.error.URLError, OSError, MNISTDataError) as err:
            problems.append(f"{url}: {err}")
    raise MNISTMissingError(
        f"{expected.filename} is missing from {data_dir} and could not be "
        "downloaded:\n  "
        + "\n  ".join(problems)
        + f"\nCopy the original file to {target} (or set {DATA_ENV_VAR} to a folder "
        "that holds it) and run again."
    )


# --------------------------------------------------------------------------
# Splits and mini-batches
# --------------------------------------------------------------------------


class Split:
    """One part of the data: flat images, one-hot labels and class numbers."""

    def __init__(self, images: np.ndarray, cls: np.ndarray, seed: int | None = None):
        self.images = (images.reshape(len(images), img_size_flat) / 255.0).astype(np.float32)
        self.cls = cls.astype(np.int64)
        self.labels = np.eye(num_classes, dtype=np.float32)[self.cls]
        self._restart_batches(seed)

    def _restart_batches(self, seed: int | None) -> None:
        """Start a fresh, seeded sequence of shuffled epochs."""
        self._rng = np.random.default_rng(seed)
        self._order = np.empty(0, dtype=np.int64)
        self._position = 0
        self.epochs_completed = 0

    def __len__(self) -> int:
        return len(self.cls)

    def with_seed(self, seed: int | None) -> "Split":
        """The same data (arrays shared, not copied) with its own batch order."""
        twin = copy.copy(self)
        twin._restart_batches(seed)
        return twin

    def next_batch(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """The next ``batch_size`` (images, one-hot labels) of a shuffled epoch.

        Every image is used once per epoch; a batch that crosses the end of an
        epoch is completed from the start of a freshly shuffled one.
        """
        index = self.next_batch_indices(batch_size)
        return self.images[index], self.labels[index]

    def next_batch_indices(self, batch_size: int) -> np.ndarray:
        """The row numbers of the next batch, as :meth:`next_batch` would take them."""

        check_positive_int("batch_size", batch_size, maximum=len(self))
        return self._take(batch_size)

    def _take(self, n: int) -> np.ndarray:
        parts = []
        while n > 0:
            if self._position >= len(self._order):
                if len(self._order):
                    self.epochs_completed += 1
                self._order = self._rng.permutation(len(self))
                self._position = 0
            part = self._order[self._position : self._position + n]
            self._position += len(part)
            n -= len(part)
            parts.append(part)
        return np.concatenate(parts)


@dataclasses.dataclass
class MNIST:
    """The three splits: 55,000 training, 5,000 validation, 10,000 test."""

    train: Split
    validation: Split
    test: Split


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The argument, else ``$MNIST_VIZ_DATA``, else the checkout's data/MNIST
    (the user cache folder's MNIST when the package is installed)."""
    if data_dir is None:
        data_dir = os.environ.get(DATA_ENV_VAR) or default_data_dir()
    path = Path(data_dir).expanduser()
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(
            f"data_dir {str(path)!r} is a file; give the folder that holds the four MNIST files."
        )
    return path


def load_array(
    name: str, data_dir: str | os.PathLike | None = None, download: bool = True
) -> np.ndarray:
    """One verified MNIST array by name (``train_images``, ``test_labels``, ...)."""
    if name not in MNIST_FILES:
        raise ValueError(f"unknown MNIST file {name!r}; valid names: {sorted(MNIST_FILES)}")
    expected = MNIST_FILES[name]
    folder = resolve_data_dir(data_dir)
    path = folder / expected.filename
    if not path.exists():
        if not download and not folder.is_dir():
            raise MNISTMissingError(
                f"data folder {str(folder)!r} does not exist; give the folder that holds "
                f"the four MNIST files (by default {default_data_dir()})."
            )
        if not download:
            raise MNISTMissingError(
                f"{expected.filename} is missing: put the original file at {path}."
            )
        path = fetch(expected, folder)
    return read_idx(path, expected)


def load_mnist(
    data_dir: str | os.PathLike | None = None, seed: int | None = 0, download: bool = True
) -> MNIST:
    """Load and verify MNIST; the last 5,000 training images become validation.

    Args:
        data_dir: folder with the four files; default ``$MNIST_VIZ_DATA``, else
            the checkout's ``data/MNIST``, else the user cache folder's.
        seed: seeds the training split's shuffling for ``next_batch``.
        download: fetch missing files from public mirrors.
    """
    train_images = load_array("train_images", data_dir, download)
    train_cls = load_array("train_labels", data_dir, download)
    test_images = load_array("test_images", data_dir, download)
    test_cls = load_array("test_labels", data_dir, download)
    cut = len(train_cls) - num_validation
    return MNIST(
        train=Split(train_images[:cut], train_cls[:cut], seed=seed),
        validation=Split(train_images[cut:], train_cls[cut:], seed=seed),
        test=Split(test_images, test_cls, seed=seed),
    )


def check_images(name: str, images, count: int | None = None) -> np.ndarray:
    """Grey-scale images as float, shape (n, 784) or (n, 28, 28), finite, in [0, 1].

    Returns them as a float32 array of shape (n, 28, 28).
    """
    array = np.asarray(images)
    if array.dtype.kind not in "fiu" or array.dtype == bool:
        raise TypeError(f"{name} must hold numbers (float in [0, 1]), got dtype {array.dtype}.")
    if array.ndim == 2 and array.shape[1] == img_size_flat:
        array = array.reshape(-1, *img_shape)
    if array.ndim != 3 or array.shape[1:] != img_shape:
        raise ValueError(
            f"{name} must have shape (n, {img_size_flat}) or (n, 28, 28), got {array.shape}."
        )
    if count is not None and len(array) != count:
        raise ValueError(f"{name} must hold exactly {count} images, got {len(array)}.")
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError(
            f"{name} contains NaN or infinite values; pixel values must "
            "be finite numbers in [0, 1]."
        )
    low, high = float(array.min(initial=0)), float(array.max(initial=0))
    if low < 0 or high > 1:
        raise ValueError(
            f"{name} has values in [{low:g}, {high:g}]; pixel values must "
            "lie in [0, 1] (divide 0-255 images by 255)."
        )
    return array


def check_classes(name: str, cls, count: int) -> np.ndarray:
    """``count`` class numbers, each a whole number in 0..9."""
    array = np.asarray(cls)
    if array.ndim != 1 or len(array) != count:
        raise ValueError(
            f"{name} must be {count} class numbers to match the images, got shape {array.shape}."
        )
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold whole class numbers 0-9, got dtype {array.dtype}.")
    if array.size and (array.min() < 0 or array.max() > 9):
        raise ValueError(
            f"{name} must hold class numbers in 0-9, got values from "
            f"{array.min()} to {array.max()}."
        )
    return array
