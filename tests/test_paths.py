"""Where the package reads and writes: checkout folders, the user cache when
installed, overrides, keyed model names, and clear errors for unwritable folders."""

import pytest

import mnist_viz as mv
from mnist_viz import data, model, paths


def test_a_checkout_uses_its_own_data_and_cache_folders(monkeypatch):
    monkeypatch.delenv(paths.CACHE_ENV_VAR, raising=False)
    root = paths.checkout_root()
    assert root is not None and (root / "pyproject.toml").is_file()
    assert paths.default_data_dir() == root / "data" / "MNIST"
    assert paths.models_dir() == root / "cache" / "models"


def test_installed_package_uses_the_user_cache_folder(monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "checkout_root", lambda: None)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(paths.CACHE_ENV_VAR, raising=False)
    monkeypatch.delenv(paths.DATA_ENV_VAR, raising=False)
    assert paths.default_data_dir() == tmp_path / "mnist-viz" / "MNIST"
    assert data.resolve_data_dir() == tmp_path / "mnist-viz" / "MNIST"
    assert paths.models_dir() == tmp_path / "mnist-viz" / "models"
    monkeypatch.setenv(paths.CACHE_ENV_VAR, str(tmp_path / "mine"))
    assert paths.models_dir() == tmp_path / "mine"


def test_an_unwritable_folder_is_one_error_naming_the_variable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(paths.CacheFolderError) as caught:
        paths.writable_folder(blocker / "models", paths.CACHE_ENV_VAR)
    message = str(caught.value)
    assert "MNIST_VIZ_CACHE" in message and "a-file" in message and "\n" not in message
    assert paths.writable_folder(tmp_path / "new" / "sub", "X") == tmp_path / "new" / "sub"


def test_an_unwritable_model_cache_fails_before_training(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    def train():
        raise AssertionError("training started although the cache cannot be written")

    with pytest.raises(paths.CacheFolderError, match="MNIST_VIZ_CACHE"):
        model.load_or_train(train, blocker / "cnn.keras", "a model")


def test_an_unwritable_data_folder_names_its_variable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(paths.CacheFolderError, match="MNIST_VIZ_DATA"):
        data.fetch(data.MNIST_FILES["test_labels"], blocker / "MNIST", progress=False)


def test_cached_model_names_are_keyed_by_what_made_them(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.CACHE_ENV_VAR, str(tmp_path))
    reference = mv.default_model_path()
    assert reference.parent == tmp_path and reference.name.startswith("cnn-")
    assert reference == mv.cached_model_path(
        "cnn",
        conv_filters=(16, 36),
        fc_units=(128,),
        kernel_size=5,
        recipe=mv.REFERENCE_RECIPE,
        seed=0,
    )
    other_seed = mv.cached_model_path(
        "cnn",
        conv_filters=(16, 36),
        fc_units=(128,),
        kernel_size=5,
        recipe=mv.REFERENCE_RECIPE,
        seed=1,
    )
    other_recipe = mv.cached_model_path(
        "cnn", conv_filters=(16, 36), fc_units=(128,), kernel_size=5, recipe=mv.FAST_RECIPE, seed=0
    )
    assert len({reference, other_seed, other_recipe}) == 3
    monkeypatch.setattr(model, "__version__", "999.0")
    assert mv.default_model_path() != reference  # older code's models are never loaded


def test_mirrors_can_be_overridden(monkeypatch):
    monkeypatch.delenv(paths.MIRRORS_ENV_VAR, raising=False)
    assert data.mirror_urls() == data.MIRRORS
    monkeypatch.setenv(paths.MIRRORS_ENV_VAR, "http://127.0.0.1:1/a/, http://127.0.0.1:2/b/")
    assert data.mirror_urls() == ("http://127.0.0.1:1/a/", "http://127.0.0.1:2/b/")


def test_a_folder_inside_a_checkout_finds_it_even_for_an_installed_package(monkeypatch, tmp_path):
    root = paths.checkout_root()
    monkeypatch.setattr(paths, "__file__", str(tmp_path / "site" / "mnist_viz" / "paths.py"))
    monkeypatch.chdir(root / "notebooks")
    assert paths.checkout_root() == root
    monkeypatch.chdir(tmp_path)
    assert paths.checkout_root() is None
