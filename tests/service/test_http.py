"""The market-data service's plain HTTP side against ibsim: 4xx errors naming the parameter, the
bearer token, historical bars as JSON and CSV (price store hit, IB fallback), health, metrics."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from sysdata.config.configdata import ConfigError
from sysdata.prices import contract_prices_key, open_price_store
from sysproduction.mds import MarketDataService
from tests.connection import test_config
from tests.service.conftest import ES, get, run

UTC = dt.UTC


@pytest.mark.parametrize(
    ("path", "status", "parameter"),
    [
        ("/quotes?instrument=NOPE", 404, "instrument"),
        ("/quotes?contract=not%20a%20contract!", 400, "contract"),
        ("/quotes?contract=NOPE/202506", 400, "contract"),  # no such instrument configured
        ("/quotes?contract=SP500/203012", 404, "contract"),  # IB lists no such contract
        ("/quotes", 400, "contract"),
        ("/quotes?contract=SP500/202506&instrument=SP500", 400, "contract"),
        ("/bars?contract=SP500/202506&bar_size=7%20secs", 400, "bar_size"),
        ("/history?contract=SP500/202506&bar_size=2%20days", 400, "bar_size"),
        ("/history?contract=SP500/202506&start=2019-01-01&end=2025-03-01", 400, "start"),
        ("/history?contract=SP500/202506&start=yesterday", 400, "start"),
        ("/history?contract=SP500/202506&end=2025-13-01", 400, "end"),
        ("/history?contract=SP500/202506&start=2025-03-02&end=2025-03-01", 400, "start"),
        ("/history?contract=SP500/202506&format=xml", 400, "format"),
        ("/quotes?contract=SP500/202506&last_event_id=abc", 400, "last_event_id"),
        ("/chain", 400, "instrument"),
        ("/chain?instrument=NOPE", 404, "instrument"),
    ],
)
def test_bad_requests_get_a_4xx_json_error_naming_the_parameter(stack, path, status, parameter):
    sim, conn, service = stack()
    got, body, headers = run(conn, get(service.url + path))
    assert got == status, body
    assert headers["Content-Type"].startswith("application/json")
    assert body["parameter"] == parameter and body["error"]
    assert not service.hub.topics  # nothing subscribed for a refused request


def test_a_token_is_required_off_loopback_and_enforced_when_set(stack, tmp_path):
    with pytest.raises(ConfigError, match="market_data_service_token"):
        test_config(tmp_path, 4001, market_data_service_host="0.0.0.0")
    sim, conn, service = stack(token="s3cret")
    with pytest.raises(ConfigError, match="market_data_service_token"):
        MarketDataService(conn, host="0.0.0.0", token=None, port=0)  # refused before binding anything

    async def scenario():
        url = service.url
        return [
            await get(f"{url}/status"),
            await get(f"{url}/status", {"Authorization": "Bearer wrong"}),
            await get(f"{url}/status", {"Authorization": "Bearer s3cret"}),
            await get(f"{url}/status?access_token=s3cret"),  # EventSource cannot send headers
            await get(f"{url}/metrics"),
            await get(f"{url}/health"),  # probes need no token
            await get(f"{url}/ready"),
        ]

    answers = run(conn, scenario())
    assert [a[0] for a in answers] == [401, 401, 200, 200, 401, 200, 200]
    assert answers[0][1]["parameter"] == "access_token" and answers[0][2]["WWW-Authenticate"].startswith("Bearer")


def stored_hourly_bars() -> pd.DataFrame:
    index = pd.date_range("2025-02-24 15:00", periods=6, freq="h", tz="UTC")
    return pd.DataFrame(
        {
            "OPEN": [5900.0, 5901, 5902, 5903, 5904, 5905],
            "HIGH": [5910.0, 5911, 5912, 5913, 5914, 5915],
            "LOW": [5890.0, 5891, 5892, 5893, 5894, 5895],
            "FINAL": [5905.0, 5906, 5907, 5908, 5909, 5910],
            "VOLUME": [100.0, 101, 102, 103, 104, 105],
        },
        index=index,
    )


def test_history_comes_from_the_price_store_when_stored_as_json_and_csv(stack, tmp_path):
    sim, conn, service = stack()
    with open_price_store(conn.config.price_store) as store:
        store.write(contract_prices_key("SP500", "20250600", "H"), stored_hourly_bars())
    query = f"{service.url}/history?contract={ES}&bar_size=1%20hour&start=2025-02-24T16:00:00Z&end=2025-02-24T19:00:00Z"

    async def scenario():
        return await get(query), await get(query + "&format=csv")

    (status, body, headers), (csv_status, csv_text, csv_headers) = run(conn, scenario())
    assert status == 200 and body["source"] == "store" and headers["X-Source"] == "store"
    assert body["contract"] == ES and body["bar_size"] == "H"
    assert [b["time"] for b in body["bars"]] == [f"2025-02-24T{h}:00:00+00:00" for h in (16, 17, 18, 19)]
    assert body["bars"][0] == {
        "time": "2025-02-24T16:00:00+00:00",
        "open": 5901.0,
        "high": 5911.0,
        "low": 5891.0,
        "close": 5906.0,
        "volume": 101.0,
    }
    assert (
        csv_status == 200 and csv_headers["Content-Type"].startswith("text/csv") and csv_headers["X-Source"] == "store"
    )
    lines = csv_text.strip().split("\n")
    assert lines[0] == "time,open,high,low,close,volume" and len(lines) == 5
    assert lines[1] == "2025-02-24T16:00:00+00:00,5901.0,5911.0,5891.0,5906.0,101.0"


def test_history_falls_back_to_ib_when_not_stored(stack):
    sim, conn, service = stack()
    query = f"{service.url}/history?contract=ESM5&bar_size=1%20hour&start=2025-02-25T00:00:00Z&end=2025-02-27T00:00:00Z"

    async def scenario():
        return await get(query), await get(query + "&format=csv")

    (status, body, headers), (csv_status, csv_text, _) = run(conn, scenario(), timeout=60)
    assert status == 200 and body["source"] == "ib" and headers["X-Source"] == "ib", body
    bars = body["bars"]
    assert len(bars) > 20 and all(b["low"] <= b["close"] <= b["high"] for b in bars)
    times = [dt.datetime.fromisoformat(b["time"]) for b in bars]
    assert times == sorted(times) and times[0] >= dt.datetime(2025, 2, 25, tzinfo=UTC)
    assert times[-1] <= dt.datetime(2025, 2, 27, tzinfo=UTC)
    assert csv_status == 200 and len(csv_text.strip().split("\n")) == len(bars) + 1


def test_health_ready_metrics_status_and_the_page_are_served(stack):
    sim, conn, service = stack()

    async def scenario():
        url = service.url
        return [await get(url + p) for p in ("/health", "/ready", "/metrics", "/status", "/")]

    health, ready, metrics, status, page = run(conn, scenario())
    assert health[0] == 200 and health[1]["state"] == "connected" and health[1]["readers"] == 0
    assert health[1]["process"] == "market_data_service"
    assert ready == (200, {"ready": True}, ready[2])
    assert metrics[0] == 200 and "ibfutures_connection_state" in metrics[1] and "ibfutures_mds_readers" in metrics[1]
    assert (
        status[1]["state"] == "connected"
        and status[1]["streams"] == []
        and status[1]["slow_reader_policy"] == "drop_oldest"
    )
    assert page[0] == 200 and page[2]["Content-Type"].startswith("text/html") and "EventSource" in page[1]
    assert service.host == "127.0.0.1"  # loopback by default
