"""Connect to a running ibsim (`python -m ibsim`), explore ES futures, download bars, buy one.

python -m ibsim --port 4002 &
python examples/ibsim_quickstart.py --port 4002
"""

import argparse

from ib_async import IB, Future, MarketOrder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=4002)
    parser.add_argument("--client-id", type=int, default=1)
    args = parser.parse_args()

    ib = IB()
    ib.connect("127.0.0.1", args.port, clientId=args.client_id)
    print("accounts:", ib.managedAccounts())

    details = ib.reqContractDetails(Future("ES", exchange="CME"))
    for d in details:
        c = d.contract
        print(f"{c.localSymbol:6} expires {c.lastTradeDateOrContractMonth} conId {c.conId}")

    front = details[0].contract
    bars = ib.reqHistoricalData(front, "", "1 Y", "1 day", "TRADES", useRTH=False)
    print(f"{len(bars)} daily bars, {bars[0].date} .. {bars[-1].date}, last close {bars[-1].close}")

    trade = ib.placeOrder(front, MarketOrder("BUY", 1))
    while not trade.isDone():
        ib.sleep(0.05)
    fill = trade.fills[0]
    while not fill.commissionReport.execId:
        ib.sleep(0.05)
    print(
        f"bought {fill.execution.shares:g} {front.localSymbol} at {fill.execution.price}, "
        f"commission {fill.commissionReport.commission} {fill.commissionReport.currency}"
    )
    ib.sleep(0.2)
    for p in ib.positions():
        print(f"position: {p.contract.localSymbol} {p.position:g} avgCost {p.avgCost}")
    ib.disconnect()


if __name__ == "__main__":
    main()
