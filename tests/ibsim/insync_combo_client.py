"""Place a futures calendar spread (BAG) with ib_insync 0.9.86; print what it decoded as JSON.

Runs in its own interpreter (ib_insync and ib_async cannot share one): see test_combos.py.
"""

import json
import sys

from ib_insync import IB, Bag, ComboLeg, Future, MarketOrder


def main(port: int) -> None:
    ib = IB()
    ib.connect("127.0.0.1", port, clientId=22, timeout=10)
    front, back = ib.qualifyContracts(Future("ES", "202506", "CME"), Future("ES", "202509", "CME"))
    bag = Bag(
        symbol="ES",
        exchange="CME",
        currency="USD",
        comboLegs=[
            ComboLeg(conId=front.conId, ratio=1, action="SELL", exchange="CME"),
            ComboLeg(conId=back.conId, ratio=1, action="BUY", exchange="CME"),
        ],
    )
    trade = ib.placeOrder(bag, MarketOrder("BUY", 1))
    for _ in range(100):
        ib.sleep(0.05)
        if trade.orderStatus.status == "Filled" and len(trade.fills) == 3:
            break
    out = {
        "server_version": ib.client.serverVersion(),
        "status": trade.orderStatus.status,
        "fills": sorted((f.contract.secType, f.contract.conId, f.execution.side) for f in trade.fills),
        "legs": [front.conId, back.conId],
    }
    done = [t for t in ib.reqCompletedOrders(apiOnly=True) if t.order.permId == trade.order.permId]
    out["completed_legs"] = [(leg.conId, leg.ratio, leg.action) for leg in done[0].contract.comboLegs] if done else []
    ib.disconnect()
    print(json.dumps(out))


if __name__ == "__main__":
    main(int(sys.argv[1]))
