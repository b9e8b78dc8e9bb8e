"""The answers to the requests ibsim does not simulate in full: what a gateway sends back.

    reply = unsupported.answer(msg_id, fields, accounts=["DU123456"], version=178)
    for message in reply: session.send(message)

A real gateway answers every request, with data or with an error; a client must never be left
to its own timeout. For each request id of the TWS API up to server version 178 that ibsim has
no full model for, `answer` gives the messages TWS sends for an account with futures level-1
permissions only: empty results where IB sends an empty result (option parameters, news
providers, scans), the error IB sends where the service needs a subscription or an option
contract ibsim does not list, and nothing for requests IB never answers (cancels, log level,
display-group updates). An id that is not part of the API at all gets error 320.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from . import errors
from . import messages as m

# Requests TWS never answers: cancels of subscriptions, settings, push-only subscriptions.
NO_REPLY: dict[int, str] = {
    11: "cancelMktDepth",
    12: "reqNewsBulletins",  # bulletins are pushed when IB publishes one; none are simulated
    13: "cancelNewsBulletins",
    14: "setServerLogLevel",
    23: "cancelScannerSubscription",
    53: "cancelFundamentalData",
    56: "cancelCalculateImpliedVolatility",
    57: "cancelCalculateOptionPrice",
    69: "updateDisplayGroup",
    70: "unsubscribeFromGroupEvents",
    89: "cancelHistogramData",
    101: "cancelWshMetaData",
    103: "cancelWshEventData",
}

Reply = list[list]


def _field(fields: Sequence[str], index: int) -> int:
    try:
        return int(fields[index])
    except (IndexError, ValueError):
        return -1


def _error(req_id: int, code: int, text: str, version: int) -> Reply:
    return [m.error(req_id, code, text, version)]


def _validation(req_id: int, letter: str, cause: str, version: int) -> Reply:
    return _error(req_id, 321, errors.text(321, code=letter, cause=cause), version)


# msg id -> (request name, answer(fields after the id, accounts, version))
_ANSWERS: dict[int, tuple[str, Callable[[Sequence[str], Sequence[str], int], Reply]]] = {
    # market depth needs a level-2 subscription, which the simulated account does not have
    10: ("reqMktDepth", lambda f, a, v: _error(_field(f, 1), 354, errors.text(354), v)),
    18: (
        "requestFA",
        lambda f, a, v: _validation(-1, "bW", "FA data operations ignored for non FA customers.", v),
    ),
    19: (
        "replaceFA",
        lambda f, a, v: _validation(_field(f, 3), "bW", "FA data operations ignored for non FA customers.", v),
    ),
    # ibsim lists no options: an option contract has no security definition
    21: ("exerciseOptions", lambda f, a, v: _error(_field(f, 1), 200, errors.text(200), v)),
    22: ("reqScannerSubscription", lambda f, a, v: [m.scanner_data_empty(_field(f, 0))]),
    24: (
        "reqScannerParameters",
        lambda f, a, v: [m.scanner_parameters('<?xml version="1.0" encoding="UTF-8"?><ScanParameterResponse/>')],
    ),
    52: (
        "reqFundamentalData",
        lambda f, a, v: _error(
            _field(f, 1), 430, "We are sorry, but fundamentals data for the security specified is not available.", v
        ),
    ),
    54: ("calculateImpliedVolatility", lambda f, a, v: _error(_field(f, 1), 200, errors.text(200), v)),
    55: ("calculateOptionPrice", lambda f, a, v: _error(_field(f, 1), 200, errors.text(200), v)),
    67: ("queryDisplayGroups", lambda f, a, v: [m.display_group_list(_field(f, 1), "1|2|3|4|5|6|7")]),
    68: ("subscribeToGroupEvents", lambda f, a, v: [m.display_group_updated(_field(f, 1), "")]),
    78: ("reqSecDefOptParams", lambda f, a, v: [m.sec_def_opt_params_end(_field(f, 0))]),
    79: ("reqSoftDollarTiers", lambda f, a, v: [m.soft_dollar_tiers(_field(f, 0))]),
    80: ("reqFamilyCodes", lambda f, a, v: [m.family_codes(a)]),
    82: ("reqMktDepthExchanges", lambda f, a, v: [m.mkt_depth_exchanges()]),
    83: ("reqSmartComponents", lambda f, a, v: [m.smart_components(_field(f, 0))]),
    84: (
        "reqNewsArticle",
        lambda f, a, v: _error(_field(f, 0), 10276, "News feed is not allowed.", v),
    ),
    85: ("reqNewsProviders", lambda f, a, v: [m.news_providers()]),
    86: ("reqHistoricalNews", lambda f, a, v: [m.historical_news_end(_field(f, 0), False)]),
    88: (
        "reqHistogramData",
        lambda f, a, v: _error(_field(f, 0), 162, errors.hmds("HMDS query returned no data: histogram"), v),
    ),
    100: ("reqWshMetaData", lambda f, a, v: _error(_field(f, 0), 10276, "News feed is not allowed.", v)),
    102: ("reqWshEventData", lambda f, a, v: _error(_field(f, 0), 10276, "News feed is not allowed.", v)),
    104: ("reqUserInfo", lambda f, a, v: [m.user_info(_field(f, 0), "")]),
}


def request_name(msg_id: int) -> str | None:
    """The API name of a request ibsim answers here (None for an id outside the API)."""
    if msg_id in NO_REPLY:
        return NO_REPLY[msg_id]
    entry = _ANSWERS.get(msg_id)
    return entry[0] if entry else None


def answer(msg_id: int, fields: Sequence[str], accounts: Sequence[str], version: int) -> Reply:
    """The messages a gateway sends for request `msg_id` (`fields` = the fields after the id)."""
    if msg_id in NO_REPLY:
        return []
    entry = _ANSWERS.get(msg_id)
    if entry is None:
        return _error(-1, 320, f"Error reading request.-'{msg_id}' : cause - Unknown message id", version)
    return entry[1](fields, accounts, version)
