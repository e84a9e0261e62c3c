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
