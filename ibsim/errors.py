"""IB error codes and texts as the simulated gateway sends them (TWS wording).

    session.error(req_id, 200)                                   # the TWS text of 200
    text(321, code="bQ", cause="Please enter a valid security type")
    hmds("Historical data request pacing violation")             # a 162 text

Texts follow the TWS wording recorded from real gateways (docs/simulator.md).
"""

from __future__ import annotations

NO_VALID_ID = -1

TEXTS: dict[int, str] = {
    100: "Max rate of messages per second has been exceeded.",
    101: "Max number of tickers has been reached.",
    103: "Duplicate order id",
    110: "The price does not conform to the minimum price variation for this contract.",
    200: "No security definition has been found for the request",
    202: "Order Canceled - reason:",
    300: "Can't find EId with tickerId:",
    321: "Error validating request.-'{code}' : cause - {cause}",
    322: "Error processing request.-'{code}' : cause - {cause}",
    326: "Unable to connect as the client id is already in use. Retry with a unique client id.",
    327: "Only API connections with clientId set to 0 can set the auto bind TWS orders property.",
    354: "Requested market data is not subscribed.",
    366: "No historical data query found for ticker id:{req_id}",
    1100: "Connectivity between IB and Trader Workstation has been lost.",
    1101: "Connectivity between IB and Trader Workstation has been restored - data lost.",
    1102: (
        "Connectivity between IB and Trader Workstation has been restored - data maintained. "
        "All data farms are connected: usfarm; ushmds; secdefil."
    ),
    2103: "Market data farm connection is broken:{farm}",
    2104: "Market data farm connection is OK:{farm}",
    2105: "HMDS data farm connection is broken:{farm}",
    2106: "HMDS data farm connection is OK:{farm}",
    2107: "HMDS data farm connection is inactive but should be available upon demand.{farm}",
    2108: "Market data farm connection is inactive but should be available upon demand.{farm}",
    2110: "Connectivity between Trader Workstation and server is broken. It will be restored automatically.",
    2157: "Sec-def data farm connection is broken:{farm}",
    2158: "Sec-def data farm connection is OK:{farm}",
    2174: (
        "Warning: You submitted request with date-time attributes without explicit time zone. "
        "Please switch to use yyyymmdd-hh:mm:ss in UTC or use instrument time zone, like US/Eastern. "
        "Implied time zone functionality will be removed in the next API release"
    ),
    10089: (
        "Requested market data requires additional subscription for API. "
        "See link in 'Market Data Connections' dialog for more details."
    ),
    10167: "Requested market data is not subscribed. Displaying delayed market data.",
    10197: "No market data during competing live session",
}

HMDS_PREFIX = "Historical Market Data Service error message:"

# Farm notices: code -> the farms it is sent for (one message each).
FARMS: dict[int, tuple[str, ...]] = {
    2103: ("usfarm", "usfuture", "eufarm", "cashfarm"),
    2104: ("usfarm", "usfuture", "eufarm", "cashfarm"),
    2105: ("ushmds", "euhmds"),
    2106: ("ushmds", "euhmds"),
    2107: ("ushmds", "euhmds"),
    2157: ("secdefil",),
    2158: ("secdefil",),
}

# Which farm notices a connectivity loss sends, and which its recovery sends.
FARMS_BROKEN = (2103, 2105, 2157)
FARMS_OK = (2104, 2106, 2158)
# At connect an idle HMDS farm is reported inactive (2107), as a real gateway does (recording in
# ghill2/pyfutures: 2104 usfarm, 2107 ushmds, 2158 secdefil).
FARMS_AT_CONNECT = (2104, 2107, 2158)


def text(error_code: int, /, **fields: object) -> str:
    """The TWS text of `error_code`, with its placeholders filled (e.g. `code=` of a 321)."""
    template = TEXTS[error_code]
    return template.format(**fields) if fields else template


def hmds(message: str) -> str:
    """A 162 text: 'Historical Market Data Service error message:' + message."""
    return HMDS_PREFIX + message
