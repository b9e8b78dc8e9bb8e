"""IB error codes -> exceptions, with the gateway's real texts, and the documented table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ib_async import Future

from ibsim import errors as sim_errors
from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_errors import (
    CODES,
    IBClientIdInUse,
    IBError,
    IBNoData,
    IBNoSecurityDefinition,
    IBNotConnected,
    IBOrderRejected,
    IBPacingViolation,
    IBPermissionError,
    IBReadOnlyError,
    IBRequestTimeout,
    IBValidationError,
    classify,
    error_from,
    is_informational,
)

from . import conns_fixture, sim_fixture, sims_fixture, test_config  # noqa: F401 - fixtures

DOCS = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        (200, sim_errors.text(200), IBNoSecurityDefinition),
        (162, sim_errors.hmds("Historical data request pacing violation"), IBPacingViolation),
        (162, sim_errors.hmds("HMDS query returned no data: ESM5@CME Trades"), IBNoData),
        (162, sim_errors.hmds("No head time stamp"), IBNoData),
        (162, sim_errors.hmds("No market data permissions for CME FUT"), IBPermissionError),
        (162, sim_errors.hmds("API historical data query cancelled: 7"), IBError),
        (354, sim_errors.text(354), IBPermissionError),
        (10197, sim_errors.text(10197), IBPermissionError),
        (201, "Order rejected - reason:YOUR ORDER IS NOT ACCEPTED", IBOrderRejected),
        (203, "The security is not available or allowed for this account.", IBOrderRejected),
        (326, sim_errors.text(326), IBClientIdInUse),
        (504, "Not connected", IBNotConnected),
        (1100, sim_errors.text(1100), IBNotConnected),
        (321, "Error validating request.-'bQ' : cause - Please enter a valid security type", IBValidationError),
        (
            321,
            "Error validating request.-'bN' : cause - The API interface is currently in Read-Only mode.",
            IBReadOnlyError,
        ),
        (110, sim_errors.text(110), IBValidationError),
        (420, "Invalid Real-time Query:Historical data request pacing violation", IBPacingViolation),
        (99999, "something new", IBError),
    ],
)
def test_classify_real_texts(code, text, expected):
    assert classify(code, text) is expected
    exc = error_from(code, text, req_id=7)
    assert type(exc) is expected
    assert (exc.code, exc.text, exc.req_id) == (code, text, 7)


@pytest.mark.parametrize("code", [1101, 1102, 2103, 2104, 2105, 2106, 2107, 2108, 2110, 2157, 2158, 2174, 10167])
def test_notices_are_informational(code):
    assert is_informational(code)
    assert classify(code, sim_errors.TEXTS.get(code, "")) is None


def test_delayed_data_notice_is_a_permission_error_when_delayed_is_not_allowed():
    text = sim_errors.text(10167)
    assert classify(10167, text) is None
    assert classify(10167, text, delayed_allowed=False) is IBPermissionError


def test_hierarchy_and_message():
    exc = error_from(200, sim_errors.text(200), req_id=5, contract=Future("ES", "202506", "CME"))
    assert isinstance(exc, IBError)
    assert (
        str(exc)
        == "IB error 200 (reqId 5): No security definition has been found for the request [contract: ES 202506 CME]"
    )
    assert isinstance(error_from(504, "Not connected"), ConnectionError)
    assert isinstance(IBRequestTimeout(message="reqHistoricalData: no answer in 20 s"), TimeoutError)
    assert not issubclass(IBNotConnected, TimeoutError)
    assert str(IBReadOnlyError(message="read-only")) == "read-only"


def test_docs_table_lists_every_code():
    text = DOCS.read_text()
    documented = {int(code) for code in re.findall(r"^\| (\d+) ", text, flags=re.MULTILINE)}
    assert set(CODES) <= documented


def test_error_from_a_real_gateway_reply(sim, tmp_path, conns):
    conn = conns(connectionIB(81, config=test_config(tmp_path, sim.port)))
    seen: list[IBError] = []
    conn.ib.errorEvent += lambda req_id, code, text, contract: seen.append(error_from(code, text, req_id, contract))
    assert conn.ib.reqContractDetails(Future("NOPE", "202506", "CME")) == []
    assert conn.wait_until(lambda: seen, 2)
    [exc] = [e for e in seen if e.code == 200]
    assert isinstance(exc, IBNoSecurityDefinition) and exc.req_id >= 0
