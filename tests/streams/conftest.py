"""Fixtures for the stream tests: an in-process ibsim and connections to it (tests/connection)."""

from tests.connection import (  # noqa: F401 - fixtures
    conn_fixture,
    conns_fixture,
    fresh_contract_cache_fixture,
    sim_fixture,
    sims_fixture,
)
