"""Quotes and bars as Server-Sent Events from the market-data service, against ibsim over real
sockets with real HTTP clients: event format, shared subscriptions, front month, resuming."""

from __future__ import annotations

import asyncio
import datetime as dt

import aiohttp

from tests.service.conftest import ES, SSEReader, get, market_subscriptions, metric_values, run


def test_contract_quotes_are_server_sent_events_with_ids_and_retry(stack):
    sim, conn, service = stack()

    async def scenario():
        async with aiohttp.ClientSession() as session:
            reader = await SSEReader(session, f"{service.url}/quotes?contract={ES}").open()
            assert reader.response.status == 200
            assert reader.response.headers["Content-Type"].startswith("text/event-stream")
            events = await reader.events(5, "quote")
            reader.close()
            return reader, events

    reader, events = run(conn, scenario())
    assert reader.retry == 2000
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == 5
    for event in events:
        quote = event["data"]
        assert quote["contract"] == ES and quote["local_symbol"] == "ESM5" and quote["instrument_code"] == "SP500"
        assert 0 < quote["bid"] < quote["ask"] and quote["time"].endswith("+00:00")
    fields = ("bid", "ask", "last", "bid_size", "ask_size", "last_size")
    assert len({tuple(e["data"][f] for f in fields) for e in events}) > 1  # quotes move


def test_five_readers_share_one_ib_subscription_cancelled_after_the_last_leaves(stack):
    sim, conn, service = stack()

    async def scenario():
        async with aiohttp.ClientSession() as session:
            readers = [await SSEReader(session, f"{service.url}/quotes?contract={ES}").open() for _ in range(5)]
            got = await asyncio.gather(*(r.events(3, "quote") for r in readers))
            during = market_subscriptions(sim)
            values = await metric_values(service)
            status = (await get(service.url + "/status"))[1]
            for reader in readers[:4]:
                reader.close()
            await asyncio.sleep(0.3)
            one_left = market_subscriptions(sim)
            more = await readers[4].events(2, "quote")
            readers[4].close()
            for _ in range(100):  # the last reader left: the upstream closes, IB's subscription ends
                await asyncio.sleep(0.05)
                if market_subscriptions(sim) == 0:
                    break
            return got, during, values, status, one_left, more, market_subscriptions(sim)

    got, during, values, status, one_left, more, after = run(conn, scenario())
    assert all(len(events) == 3 for events in got) and len(more) == 2
    assert during == 1 and one_left == 1 and after == 0
    assert values[("ibfutures_mds_readers", (("stream", "quotes"),))] == 5
    assert values[("ibfutures_mds_upstreams", (("stream", "quotes"),))] == 1
    assert values[("ibfutures_mds_upstreams_opened_total", ())] == 1
    [stream] = status["streams"]
    assert stream["contract"] == ES and stream["readers"] == 5 and stream["last"]["local_symbol"] == "ESM5"
    # Every reader saw the same events under the same ids (one upstream fanned out).
    common = set.intersection(*({(e["id"], e["data"]["bid"], e["data"]["ask"]) for e in r} for r in got))
    assert common
    assert not service.hub.topics and len(conn.supervisor.subscriptions) == 0


def test_front_month_quotes_and_bars_show_local_symbols_matching_the_chain(stack):
    sim, conn, service = stack()

    async def scenario():
        status, chain, _ = await get(f"{service.url}/chain?instrument=SP500")
        async with aiohttp.ClientSession() as session:
            quotes = await SSEReader(session, f"{service.url}/quotes?instrument=SP500").open()
            bars = await SSEReader(session, f"{service.url}/bars?instrument=SP500").open()
            contract_bars = await SSEReader(session, f"{service.url}/bars?contract=ESM5&bar_size=5%20secs").open()
            got = await asyncio.gather(quotes.events(3, "quote"), bars.events(2, "bar"), contract_bars.events(1, "bar"))
            for reader in (quotes, bars, contract_bars):
                reader.close()
        return status, chain, got

    status, chain, (quotes, bars, contract_bars) = run(conn, scenario(), timeout=30)
    assert status == 200
    front = chain["front_month"]
    assert front["contract"].startswith("SP500/") and front["local_symbol"].startswith("ES")
    assert front["roll_date"] <= front["last_trade_date"] and front["next_contract"] != front["contract"]
    listed = [e["contract"] for e in chain["expiries"]]
    assert front["contract"] in listed and [e["expiry"] for e in chain["expiries"]] == sorted(
        e["expiry"] for e in chain["expiries"]
    )
    assert {q["data"]["local_symbol"] for q in quotes} == {front["local_symbol"]}
    assert {q["data"]["contract"] for q in quotes} == {front["contract"]}
    for bar in bars:
        data = bar["data"]
        assert data["local_symbol"] == front["local_symbol"] and data["low"] <= data["open"] <= data["high"]
    assert contract_bars[0]["data"]["local_symbol"] == "ESM5" and contract_bars[0]["data"]["contract"] == ES


def test_a_front_month_reader_sees_the_roll_when_the_gateway_clock_crosses_it(stack):
    sim, conn, service = stack()

    async def scenario():
        chain = (await get(f"{service.url}/chain?instrument=SP500"))[1]
        roll = dt.datetime.fromisoformat(chain["front_month"]["roll_utc"])
        async with aiohttp.ClientSession() as session:
            reader = await SSEReader(session, f"{service.url}/quotes?instrument=SP500").open()
            before = await reader.events(2, "quote")
            sim.call(lambda: sim.clock.set_time(roll - dt.timedelta(seconds=2)))  # 0.1 s real at speed 20
            rolled = await reader.events(1, "roll")
            after = await reader.events(2, "quote")
            reader.close()
        return chain["front_month"], before, rolled, after, reader.received

    front, before, [roll], after, received = run(conn, scenario(), timeout=30)
    assert {q["data"]["local_symbol"] for q in before} == {front["local_symbol"]}
    assert roll["data"]["old_contract"] == front["contract"] and roll["data"]["new_contract"] == front["next_contract"]
    assert roll["data"]["old_local_symbol"] == front["local_symbol"]
    new_symbol = roll["data"]["new_local_symbol"]
    assert new_symbol != front["local_symbol"] and {q["data"]["local_symbol"] for q in after} == {new_symbol}
    ids = [e["id"] for e in received]
    assert ids == sorted(ids) and len(ids) == len(set(ids))  # the roll is an event of the same stream


def test_streams_stay_within_the_market_data_line_budget(stack):
    sim, conn, service = stack(conn_overrides={"ib_market_data_lines": 1})

    async def scenario():
        async with aiohttp.ClientSession() as session:
            first = await SSEReader(session, f"{service.url}/quotes?contract={ES}").open()
            await first.events(2, "quote")
            second = await SSEReader(session, f"{service.url}/quotes?contract=NASDAQ/202506").open()
            refused = await second.events(2)  # an error, then the end of the stream
            ended = await second.event()
            still = await first.events(2, "quote")  # the first stream is unaffected
            first.close()
        return refused, ended, still, market_subscriptions(sim)

    refused, ended, still, subscribed = run(conn, scenario())
    kinds = [e["event"] for e in refused]
    assert kinds[0] == "error" and "market-data line" in refused[0]["data"]["error"]
    assert "close" in kinds or ended is None
    assert len(still) == 2 and subscribed <= 1
