"""Fixtures of the production-script tests."""

from __future__ import annotations

import pytest

from sysbrokers.IB.client.ib_contracts_client import clear_contract_cache
from sysbrokers.IB.pacers import clear_pacers


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Every test gets its own gateway: no contract or pacing books of another one leak in."""
    clear_contract_cache()
    clear_pacers()
    yield
    clear_contract_cache()
    clear_pacers()
