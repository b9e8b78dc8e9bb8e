"""A stack-handler style run: place, modify, cancel and fill orders, then print positions and capital.

    python -m sysproduction.example_stack_handler                       # configured gateway
    python -m sysproduction.example_stack_handler --sim-start 2025-03-04T15:00:00Z

With `ib_gateway: ibsim` in the configuration the simulated gateway runs in-process
(`sysproduction.embedded_gateway.gateway_for`), on today's clock, so markets may be closed:
the closed-market refusal is then what you see. `--sim-start` runs an in-process ibsim whose
clock starts at that moment instead (any configuration), e.g. a Tuesday afternoon.

    python -m sysproduction.example_stack_handler --sim-start 2025-03-04T15:00:00Z \
        --cycles 0 --interval 60 --ops-port 9101     # trade every minute until stopped; /metrics

`--cycles N` repeats the order cycle N times (0 = until SIGINT/SIGTERM), `--interval` seconds
apart, with the event loop running in between. `--ops-port` (or config `ops_http_port`) serves
/health, /ready and /metrics (docs/operations.md). SIGINT/SIGTERM stop at the next safe point
(between order steps), print "interrupted" and exit 130/143; a configuration error, an
unreachable gateway, a refused client id or an unmanaged account is one line on stderr with its
exit code (sysproduction/script_runner.py).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Iterator, Sequence

from sysbrokers.IB.ib_orders_data import ibOrdersData
from sysbrokers.IB.order_checks import OrderMarketClosed
from sysdata.config.configdata import Config, get_production_config
from sysdata.data_blob import dataBlob
from sysobjects.contracts import futuresContract
from sysobjects.orders import brokerOrder, orderWithControls
from sysproduction.embedded_gateway import EMBEDDED_ACCOUNT, gateway_for
from sysproduction.ops_http import start_ops_server
from sysproduction.script_runner import run_script, stop_point

STRATEGY = "example"


@contextlib.contextmanager
def gateway(config: Config, sim_start: dt.datetime | None) -> Iterator[Config]:
    """`gateway_for(config)`, or an in-process ibsim starting at `sim_start`."""
    if sim_start is None:
        with gateway_for(config) as connect_config:
            yield connect_config
        return
    from ibsim import IBSim, SimConfig

    account = config.broker_account or EMBEDDED_ACCOUNT
    sim = IBSim(SimConfig(port=0, accounts=(account,), start=sim_start)).start_in_thread()
    try:
        yield dataclasses.replace(config, ib_ipaddress="127.0.0.1", ib_port=sim.port, broker_account=account)
    finally:
        sim.stop_in_thread()


def front_contract(orders: ibOrdersData, instrument_code: str) -> futuresContract:
    """The nearest contract of the instrument that does not expire within a week."""
    horizon = orders.ibconnection.now() + dt.timedelta(days=7)
    for expiry in orders.ib_client.broker_get_futures_contract_list(instrument_code):
        if dt.datetime.strptime(expiry, "%Y%m%d").replace(tzinfo=dt.UTC) > horizon:
            return futuresContract(instrument_code, expiry)
    raise LookupError(f"IB lists no contract of {instrument_code} beyond a week")


def describe(control: orderWithControls) -> str:
    order = control.order
    price = f" @ {order.average_fill_price:g}" if order.average_fill_price is not None else ""
    return (
        f"{order.order_reference}: {order.order_type.value} {order.trade:+d} {order.instrument_code} "
        f"{order.contract_id} -> {order.status.value}, filled {order.filled_quantity}{price}, "
        f"commission {order.commission}"
    )


def trade_once(orders: ibOrdersData, contract: futuresContract, account: str) -> None:
    """The order life cycle a stack handler drives: fill, modify, cancel, fill at a limit."""
    snapshot = orders.ib_client.ib.reqTickers(orders.ib_client.resolve(contract).contract)[0]
    magnifier = orders.ib_client.ib_get_price_magnifier(contract)
    tick = orders.ib_client.ib_get_min_tick_size(contract)
    bid, ask = snapshot.bid / magnifier, snapshot.ask / magnifier

    stop_point()
    market = orders.put_order_on_stack(brokerOrder.from_contract(contract, 2, strategy_name=STRATEGY, account=account))
    orders.wait_for_order(market, "commissions")
    print("filled   ", describe(market))

    stop_point()
    far = round((bid * 0.97) / tick) * tick
    resting_order = brokerOrder.from_contract(
        contract, 1, order_type="LMT", limit_price=far, strategy_name=STRATEGY, account=account
    )
    resting = orders.put_order_on_stack(resting_order)
    orders.wait_for_order(resting, "acknowledged")
    print("working  ", describe(resting), f"limit {resting.broker_limit_price():g}")
    if orders.check_order_can_be_modified_given_control_object(resting):
        resting_order.limit_price = far - 4 * tick
        orders.modify_limit_price_given_control_object(resting)
        orders.ibconnection.sleep(0.3)
        print("modified ", describe(resting), f"limit {resting.broker_limit_price():g}")
    orders.cancel_order_on_stack(resting_order)
    orders.wait_for_order(resting, "done")
    print("cancelled", describe(resting), "| cancelled at IB:", orders.check_order_is_cancelled(resting_order))

    stop_point()
    through = round((ask * 1.01) / tick) * tick  # a marketable limit: fills at the touch
    limit = orders.put_order_on_stack(
        brokerOrder.from_contract(contract, 1, order_type="LMT", limit_price=through, strategy_name=STRATEGY)
    )
    orders.wait_for_order(limit, "commissions")
    print("filled   ", describe(limit))


def print_positions_and_capital(data: dataBlob) -> None:
    ib = data.ib_conn.ib
    print("positions:")
    for position in ib.positions():
        if position.position:
            print(f"  {position.account} {position.contract.localSymbol:8} {position.position:+g}")
    print("capital:")
    for item in ib.accountSummary(data.ib_conn.account):
        if item.tag in ("NetLiquidation", "TotalCashValue", "InitMarginReq", "MaintMarginReq", "ExcessLiquidity"):
            print(f"  {item.tag:16} {float(item.value):>16,.2f} {item.currency}")


def run(data: dataBlob, instrument_code: str, cycles: int = 1, interval: float = 60.0) -> int:
    orders = data.broker_orders
    contract = front_contract(orders, instrument_code)
    cycle = 0
    while True:
        cycle += 1
        print(f"trading {contract.key} at {orders.ibconnection.now():%Y-%m-%d %H:%M} UTC (gateway clock)")
        try:
            trade_once(orders, contract, data.ib_conn.account)
        except OrderMarketClosed as refused:
            print(f"refused, nothing sent: {refused}")
        if cycles and cycle >= cycles:
            break
        wait_safely(data, interval)
    print(f"orders stored today: {len(orders.get_list_of_orders_from_storage())}")
    print_positions_and_capital(data)
    return 0


def wait_safely(data: dataBlob, seconds: float) -> None:
    """Run the event loop for `seconds` (streams, reconnects, /metrics), stopping when asked."""
    end = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    while dt.datetime.now(dt.UTC) < end:
        stop_point()
        data.ib_conn.sleep(min(0.2, seconds))
    stop_point()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instrument", default="SP500")
    parser.add_argument("--sim-start", type=dt.datetime.fromisoformat, default=None)
    parser.add_argument("--cycles", type=int, default=1, help="order cycles (0 = until stopped; default 1)")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between cycles (default 60)")
    parser.add_argument("--ops-port", type=int, default=None, help="serve /health, /ready, /metrics (0 = any port)")
    args = parser.parse_args(argv)

    def body(config: Config) -> int:
        if config.sources.get("log_level", "").endswith("defaults.yaml"):
            logging.getLogger().setLevel(logging.WARNING)  # a demo: its own lines, unless log_level is set
        with (
            gateway(config, args.sim_start) as connect_config,
            dataBlob("example_stack_handler", config=connect_config) as data,
        ):
            server = start_ops_server(data.ib_conn, connect_config, "example_stack_handler", port=args.ops_port)
            if server is not None:
                print(f"health and metrics on {server.url} (/health, /ready, /metrics)", flush=True)
            try:
                return run(data, args.instrument, args.cycles, args.interval)
            finally:
                if server is not None:
                    server.stop()

    return run_script("example_stack_handler", body, safe_points=True, load_config=get_production_config)


if __name__ == "__main__":
    raise SystemExit(main())
