"""Run a scenario with ib_insync 0.9.86 against a gateway; print the results as JSON.

Runs in its own interpreter (ib_insync and ib_async cannot share one): see test_ib_insync.py.
"""

import json
import math
import sys

from ib_insync import IB, Future, MarketOrder


def main(port: int) -> None:
    ib = IB()
    ib.connect("127.0.0.1", port, clientId=21, timeout=10)
    out = {"server_version": ib.client.serverVersion(), "accounts": ib.managedAccounts()}
    details = ib.reqContractDetails(Future("ES", exchange="CME"))
    out["months"] = [d.contract.lastTradeDateOrContractMonth for d in details]
    [es] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    out["local_symbol"] = es.localSymbol
    bars = ib.reqHistoricalData(es, "", "1 Y", "1 day", "TRADES", False, 1)
    out["daily_bars"] = len(bars)
    out["daily_ok"] = all(b.low <= b.open <= b.high and b.low <= b.close <= b.high for b in bars)
    intraday = ib.reqHistoricalData(es, "", "3600 S", "1 min", "MIDPOINT", False, 2)
    out["minute_bars"] = len(intraday)
    ticker = ib.reqMktData(es)
    for _ in range(100):
        ib.sleep(0.05)
        if not math.isnan(ticker.bid) and not math.isnan(ticker.ask):
            break
    out["bid"], out["ask"] = ticker.bid, ticker.ask
    [snap] = ib.reqTickers(es)
    out["snapshot_close"] = snap.close
    trade = ib.placeOrder(es, MarketOrder("BUY", 1))
    for _ in range(100):
        ib.sleep(0.05)
        if trade.orderStatus.status == "Filled" and trade.fills and trade.fills[0].commissionReport.execId:
            break
    out["status"] = trade.orderStatus.status
    out["fills"] = [(f.execution.shares, f.execution.price, f.commissionReport.commission) for f in trade.fills]
    ib.sleep(0.2)
    out["positions"] = [(p.contract.localSymbol, p.position) for p in ib.positions()]
    ib.disconnect()
    print(json.dumps(out))


if __name__ == "__main__":
    main(int(sys.argv[1]))
