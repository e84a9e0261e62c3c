"""pytest settings shared by the unit tests and nbval."""


def pytest_collectstart(collector):
    """nbval compares every stored output; stderr (library warnings, TensorFlow
    notices) is not part of what a notebook promises, so it is not compared."""
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)
