"""The data stage: IDX parsing and verification, fetching, splits, mini-batches."""

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest
from local_http import serving

from mnist_viz import data, paths
from mnist_viz.data import IdxFile, MNISTDataError, MNISTMissingError, Split


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes holding ``array``."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def spec_for(payload: bytes, shape, name="tiny-images-idx3-ubyte.gz") -> IdxFile:
    return IdxFile(name, tuple(shape), hashlib.sha256(payload).hexdigest())


@pytest.fixture
def tiny():
    """A small synthetic image array, its IDX bytes and matching spec."""
    array = np.arange(4 * 28 * 28, dtype=np.int64).reshape(4, 28, 28) % 256
    payload = idx_bytes(array)
    return array, payload, spec_for(payload, array.shape)


# ----- reading -------------------------------------------------------------


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
def test_good_file_loads(tmp_path, tiny, compress):
    array, payload, spec = tiny
    path = tmp_path / spec.filename
    path.write_bytes(gzip.compress(payload) if compress else payload)
    loaded = data.read_idx(path, spec)
    assert loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded, array)


def test_wrong_magic_is_named(tmp_path, tiny):
    _, payload, spec = tiny
    bad = b"\x00\x00\x08\x01" + payload[4:]  # claims one dimension
    with pytest.raises(MNISTDataError, match=r"magic number 0x00000801, expected 0x00000803"):
        data.parse_idx(bad, spec, source="x.idx")


def test_wrong_dimensions_are_named(tiny):
    array, _, _ = tiny
    payload = idx_bytes(array[:, :27, :])
    spec = spec_for(payload, array.shape)
    with pytest.raises(MNISTDataError, match=r"dimensions \(4, 27, 28\), expected \(4, 28, 28\)"):
        data.parse_idx(payload, spec)


def test_short_payload_is_reported(tiny):
    _, payload, spec = tiny
    with pytest.raises(MNISTDataError, match="truncated"):
        data.parse_idx(payload[:-10], spec)


def test_header_too_short(tiny):
    _, payload, spec = tiny
    with pytest.raises(MNISTDataError, match="too short for an IDX header"):
        data.parse_idx(payload[:6], spec)


def test_truncated_gzip_names_file(tmp_path, tiny):
    _, payload, spec = tiny
    path = tmp_path / spec.filename
    path.write_bytes(gzip.compress(payload)[:-20])
    with pytest.raises(MNISTDataError, match=f"{spec.filename} is not a complete gzip file"):
        data.read_idx(path, spec)


def test_checksum_mismatch_names_both_digests(tmp_path, tiny):
    _, payload, spec = tiny
    path = tmp_path / spec.filename
    tampered = bytearray(payload)
    tampered[-1] ^= 0xFF
    path.write_bytes(bytes(tampered))
    with pytest.raises(MNISTDataError) as err:
        data.read_idx(path, spec)
    message = str(err.value)
    assert spec.sha256 in message and hashlib.sha256(tampered).hexdigest() in message
    assert "delete it" in message


def test_directory_instead_of_file(tmp_path, tiny):
    _, _, spec = tiny
    (tmp_path / spec.filename).mkdir()
    with pytest.raises(MNISTDataError, match="is a directory"):
        data.read_idx(tmp_path / spec.filename, spec)


# ----- splits and batches -------------------------------------------------


def make_split(n=10, seed=0) -> Split:
    images = np.random.default_rng(1).integers(0, 256, size=(n, 28, 28))
    return Split(images, np.arange(n) % 10, seed=seed)


def test_split_arrays_agree():
    split = make_split()
    assert split.images.shape == (10, 784) and split.images.dtype == np.float32
    assert 0.0 <= split.images.min() and split.images.max() <= 1.0
    assert split.labels.shape == (10, 10) and split.labels.dtype == np.float32
    np.testing.assert_array_equal(split.labels.argmax(axis=1), split.cls)
    np.testing.assert_array_equal(split.labels.sum(axis=1), 1.0)


def test_next_batch_covers_an_epoch_without_repeats():
    split = make_split(n=12)
    rows = np.concatenate([split.next_batch(4)[0] for _ in range(3)])
    assert split.epochs_completed == 0
    # Each of the 12 images exactly once: the batches sort to the same rows.
    np.testing.assert_array_equal(
        rows[np.lexsort(rows.T)], split.images[np.lexsort(split.images.T)]
    )


def test_batch_crossing_an_epoch_completes_from_the_next():
    split = make_split(n=10)
    first = split.next_batch(8)[0]
    second = split.next_batch(4)[0]  # 2 left of epoch 1, then 2 of epoch 2
    assert split.epochs_completed == 1
    rest_of_epoch = second[:2]
    epoch = np.concatenate([first, rest_of_epoch])
    assert len(np.unique(epoch, axis=0)) == 10


def test_next_batch_is_seedable():
    a, b, c = make_split(seed=5), make_split(seed=5), make_split(seed=6)
    np.testing.assert_array_equal(a.next_batch(5)[0], b.next_batch(5)[0])
    assert not np.array_equal(make_split(seed=5).next_batch(5)[0], c.next_batch(5)[0])


@pytest.mark.parametrize(
    "bad, error",
    [(0, ValueError), (-3, ValueError), (11, ValueError), (2.5, TypeError), ("8", TypeError)],
)
def test_next_batch_rejects_bad_sizes(bad, error):
    with pytest.raises(error, match="batch_size"):
        make_split(n=10).next_batch(bad)


# ----- the data directory -------------------------------------------------


def test_env_var_overrides_default(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV_VAR, str(tmp_path))
    assert data.resolve_data_dir() == tmp_path
    assert data.resolve_data_dir(tmp_path / "other") == tmp_path / "other"
    monkeypatch.delenv(data.DATA_ENV_VAR)
    shipped = paths.checkout_root() / "data" / "MNIST"
    assert data.resolve_data_dir() == paths.default_data_dir() == shipped


def test_missing_file_without_download_says_where(tmp_path):
    with pytest.raises(MNISTMissingError, match=str(tmp_path / "t10k-labels-idx1-ubyte.gz")):
        data.load_array("test_labels", tmp_path, download=False)


def test_file_given_as_data_dir(tmp_path):
    file = tmp_path / "notadir"
    file.write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        data.load_mnist(file)


# ----- downloading from mirrors, against a local server ---------------------


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving ``tmp_path/www``."""
    root = tmp_path / "www"
    root.mkdir()
    with serving(root) as url:
        yield root, url


def test_download_from_a_mirror(server, tmp_path, tiny, capsys):
    root, url = server
    array, payload, spec = tiny
    (root / "good").mkdir()
    (root / "good" / spec.filename).write_bytes(gzip.compress(payload))
    dest = tmp_path / "data"
    path = data.fetch(spec, dest, mirrors=(f"{url}/good/",))
    np.testing.assert_array_equal(data.read_idx(path, spec), array)
    assert "tiny-images-idx3-ubyte.gz" in capsys.readouterr().err  # the progress bar
    assert sorted(p.name for p in dest.iterdir()) == [spec.filename]
    assert path.stat().st_mode & 0o044 == 0o044


def test_first_mirror_404_then_second(server, tmp_path, tiny):
    root, url = server
    _, payload, spec = tiny
    (root / "second").mkdir()
    (root / "second" / spec.filename).write_bytes(gzip.compress(payload))
    path = data.fetch(
        spec, tmp_path / "d", mirrors=(f"{url}/first/", f"{url}/second/"), progress=False
    )
    assert path.name == spec.filename and path.is_file()


def test_corrupted_download_is_rejected_and_leaves_nothing(server, tmp_path, tiny):
    root, url = server
    _, payload, spec = tiny
    (root / spec.filename).write_bytes(gzip.compress(payload[:-1] + b"\x01"))
    dest = tmp_path / "d"
    with pytest.raises(MNISTMissingError) as err:
        data.fetch(spec, dest, mirrors=(f"{url}/",), progress=False)
    assert "SHA-256" in str(err.value) and str(dest / spec.filename) in str(err.value)
    assert list(dest.iterdir()) == []


def test_no_network_says_which_file_and_where(tmp_path, tiny):
    _, _, spec = tiny
    dest = tmp_path / "d"
    with pytest.raises(MNISTMissingError) as err:
        data.fetch(spec, dest, mirrors=("http://127.0.0.1:9/",), progress=False)
    message = str(err.value)
    assert f"{spec.filename} is missing" in message and "Copy the original file" in message
    assert list(dest.iterdir()) == []


# ----- the shipped data -----------------------------------------------------


@pytest.fixture(scope="module")
def mnist():
    return data.load_mnist()


def test_shipped_split_sizes(mnist):
    assert (len(mnist.train), len(mnist.validation), len(mnist.test)) == (55_000, 5_000, 10_000)
    assert mnist.train.images.shape == (55_000, 784)


def test_shipped_test_class_counts(mnist):
    assert np.bincount(mnist.test.cls).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]


def test_shipped_first_labels(mnist):
    assert mnist.train.cls[:5].tolist() == [5, 0, 4, 1, 9]
    assert mnist.test.cls[:5].tolist() == [7, 2, 1, 0, 4]


def test_validation_is_last_5000_of_training_file(mnist):
    labels = data.load_array("train_labels")
    np.testing.assert_array_equal(mnist.validation.cls, labels[-5000:])
    np.testing.assert_array_equal(mnist.train.cls, labels[:-5000])


def test_shipped_files_match_published_checksums():
    sums = Path(paths.default_data_dir(), "README.md").read_text()
    for spec in data.MNIST_FILES.values():
        assert spec.sha256 in sums
