"""The market-data service: one IB connection serving quotes and bars to many readers over HTTP/SSE.

    python -m sysproduction.market_data_service                # market_data_service_host:port
    python -m sysproduction.market_data_service --port 0       # any free port (printed)
    python -m sysproduction.market_data_service --sim-start 2025-03-04T15:00:00+00:00   # with ibsim

    curl -N 'http://127.0.0.1:8765/quotes?instrument=SP500'     # SSE: the front month's quotes
    curl 'http://127.0.0.1:8765/history?contract=SP500/202506&bar_size=1%20hour&format=csv'

One process, one connection (client id from the client-id store), the aiohttp server on
ib_async's event loop. Readers of the same contract share one IB subscription; slow readers are
handled by the configured policy; readers stay connected across a gateway restart. SIGINT /
SIGTERM stop it cleanly (exit 130 / 143; other exit codes as every production script:
sysproduction/script_runner.py). Endpoints and formats: docs/market_data_service.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Iterator, Sequence

from sysdata.config.configdata import Config, get_production_config
from sysproduction.embedded_gateway import EMBEDDED_ACCOUNT, gateway_for
from sysproduction.script_runner import run_script, stop_point

log = logging.getLogger("market_data_service")


@contextlib.contextmanager
def _gateway(config: Config, sim_start: dt.datetime | None, sim_speed: float) -> Iterator[Config]:
    """The configured gateway (`ib_gateway`), or an in-process ibsim starting at `sim_start`."""
    if sim_start is None:
        with gateway_for(config) as connect_config:
            yield connect_config
        return
    from ibsim import IBSim, SimConfig

    account = config.broker_account or EMBEDDED_ACCOUNT
    sim = IBSim(SimConfig(port=0, accounts=(account,), start=sim_start, speed=sim_speed)).start_in_thread()
    try:
        yield dataclasses.replace(config, ib_ipaddress="127.0.0.1", ib_port=sim.port, broker_account=account)
    finally:
        sim.stop_in_thread()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sysproduction.market_data_service",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default=None, help="bind address (default market_data_service_host)")
    parser.add_argument("--port", type=int, default=None, help="port, 0 = any (default market_data_service_port)")
    parser.add_argument("--sim-start", type=dt.datetime.fromisoformat, default=None, help="run against ibsim")
    parser.add_argument("--sim-speed", type=float, default=1.0, help="ibsim clock speed (with --sim-start)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body(config: Config) -> int:
        from sysbrokers.IB.ib_connection import connectionIB
        from sysproduction.mds import MarketDataService
        from sysproduction.mds.service import check_binding

        check_binding(args.host or config.market_data_service_host, config.market_data_service_token, config)
        with _gateway(config, args.sim_start, args.sim_speed) as connect_config:
            conn = connectionIB(connect_config)
            try:
                service = MarketDataService(conn, connect_config, host=args.host, port=args.port)
                conn.run_sync(service.start_async())
                print(f"market data on {service.url} (/quotes, /bars, /chain, /history, /metrics)", flush=True)
                try:
                    while True:  # the loop serves readers and the connection while it sleeps
                        conn.sleep(0.2)
                        stop_point()
                finally:
                    conn.run_sync(service.stop_async())
            finally:
                conn.close_connection()

    return run_script("market_data_service", body, safe_points=True, load_config=get_production_config)


if __name__ == "__main__":
    raise SystemExit(main())
