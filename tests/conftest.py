"""Shared fixtures and markers for the whole test suite."""

import os

from tests.fixtures.ferretdb import mongo_url  # noqa: F401 - a fixture, registered by import


def pytest_configure(config):
    # The configuration reads IBFUTURES_* variables (docs/deployment.md): a developer's shell must
    # not change what the tests see. Tests that want one set it themselves (monkeypatch).
    for name in [n for n in os.environ if n.startswith("IBFUTURES_")]:
        del os.environ[name]
    config.addinivalue_line("markers", "slow: takes several seconds (multi-process or lease expiry)")
