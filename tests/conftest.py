"""Shared fixtures and markers for the whole test suite."""

from tests.fixtures.ferretdb import mongo_url  # noqa: F401 - a fixture, registered by import


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes several seconds (multi-process or lease expiry)")
