"""Fixtures for the operations tests: in-process ibsim gateways, connections, a fresh registry."""

from __future__ import annotations

import pytest

from sysdata.production.process_metrics import reset_process_metrics
from tests.connection import (  # noqa: F401 - fixtures
    conn_fixture,
    conns_fixture,
    fresh_contract_cache_fixture,
    sim_fixture,
    sims_fixture,
)


@pytest.fixture(autouse=True)
def fresh_metrics():
    """Each test is a 'process' of its own: a fresh process-wide registry."""
    yield reset_process_metrics()
    reset_process_metrics()
