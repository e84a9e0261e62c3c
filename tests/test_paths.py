"""Where the package reads and writes: checkout folders, the user cache when
installed, overrides, keyed model names, and clear errors for unwritable folders."""

import pytest

import mnist_viz as mv
from mnist_viz import data, model, networks, paths


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


def test_an_unwritable_model_cache_fails_before_training(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(paths.CACHE_ENV_VAR, str(blocker / "models"))

    def train(recipe, data, report=True):
        raise AssertionError("training started although the cache cannot be written")

    monkeypatch.setattr(networks, "train", train)
    tiny = mv.Recipe("tiny", "a tiny network", conv_filters=(2, 4), fc_units=(8,), iterations=5)
    with pytest.raises(paths.CacheFolderError, match="MNIST_VIZ_CACHE"):
        mv.get_network(tiny, data=object())


def test_an_unwritable_data_folder_names_its_variable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(paths.CacheFolderError, match="MNIST_VIZ_DATA"):
        data.fetch(data.MNIST_FILES["test_labels"], blocker / "MNIST", progress=False)


def test_cached_model_names_are_keyed_by_what_made_them(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.CACHE_ENV_VAR, str(tmp_path))
    standard = mv.network_path("standard")
    assert standard.parent == tmp_path and standard.name.startswith("standard-")
    recipe = mv.RECIPES["standard"]
    assert standard == mv.network_path(recipe) == mv.network_path("standard", seed=recipe.seed)
    assert standard == model.cached_model_path("standard", **recipe.made_by())
    # The description says what the network is; it does not make it.
    assert mv.network_path(recipe.replace(description="reworded")) == standard
    other_seed = mv.network_path("standard", seed=1)
    assert other_seed == mv.network_path(recipe.replace(seed=1))
    other_recipe = mv.network_path(recipe.replace(learning_rate=2e-4))
    other_architecture = mv.network_path(recipe.replace(fc_units=(64,)))
    assert len({standard, other_seed, other_recipe, other_architecture}) == 4
    assert mv.network_path("robust judge").name.startswith("robust_judge-")
    monkeypatch.setattr(model, "__version__", "999.0")
    assert mv.network_path("standard") != standard  # older code's models are never loaded


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


def test_a_saved_network_is_the_one_get_network_loads_for_its_recipe_and_seed(
    tmp_path, monkeypatch
):
    monkeypatch.setenv(paths.CACHE_ENV_VAR, str(tmp_path))

    def train(recipe, data, report=True):
        raise AssertionError(f"trained {recipe.name} seed {recipe.seed} instead of loading it")

    monkeypatch.setattr(networks, "train", train)
    saved = mv.build_cnn((2, 4), (8,), seed=9)
    path = mv.save_network(saved, "fast", seed=3)
    assert path == mv.network_path("fast", seed=3) != mv.network_path("fast")
    loaded = mv.get_network("fast", seed=3)
    assert all((a == b).all() for a, b in zip(loaded.get_weights(), saved.get_weights()))
