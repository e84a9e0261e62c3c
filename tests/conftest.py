"""Shared fixtures: the shipped data and a briefly trained model."""

import pytest

import mnist_viz as mv


@pytest.fixture(scope="session")
def mnist():
    return mv.load_mnist()


@pytest.fixture(scope="session")
def trained_model(mnist):
    """The reference network after 300 iterations: enough to classify well above chance."""
    model = mv.build_cnn(seed=1)
    mv.Trainer(model, mnist.train, report_every=10**6).optimize(300)
    return model


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each test's outcome on its item, so a fixture can react to a failure
    (the browser tests save a screenshot)."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.outcome = report
