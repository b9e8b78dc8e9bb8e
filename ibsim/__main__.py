"""`python -m ibsim`: run the simulated IB Gateway until interrupted.

    python -m ibsim --port 4002 --start 2025-03-04T15:00:00Z --speed 60 --admin-port 4003
    python -m ibsim --port 0 --no-rate-limit          # no 50 messages/s limit

Flags are listed by `python -m ibsim --help` and in docs/simulator.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import signal
import sys

from .config import SimConfig, Timing
from .pacing import PacingRules
from .server import IBSim

# Exit codes (docs/operations.md). SIGINT still ends with 0: tests/ibsim/test_cli.py expects it;
# 130 (128 + SIGINT) is the production-tool convention the other scripts follow.
EXIT_ON_SIGNAL = {signal.SIGINT: 128 + signal.SIGINT, signal.SIGTERM: 128 + signal.SIGTERM}
EXIT_CANNOT_LISTEN = 3


def _parse_start(text: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--start {text!r} is not an ISO-8601 time like 2025-03-04T15:00:00Z") from exc
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError(f"--start {text!r} needs a time zone, e.g. a trailing Z for UTC")
    return when


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ibsim", description="A simulated IB Gateway (TWS API protocol)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=4002, help="TWS API port (default 4002; 0 = any free port)")
    p.add_argument(
        "--account",
        action="append",
        dest="accounts",
        help="managed account code (repeat for several; default DU123456)",
    )
    p.add_argument("--seed", type=int, default=0, help="market model seed (default 0)")
    p.add_argument(
        "--start",
        type=_parse_start,
        default=None,
        help="simulated start time, e.g. 2025-03-04T15:00:00Z (default: now)",
    )
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second (default 1)")
    p.add_argument("--state-file", help="JSON file keeping account state across gateway runs")
    p.add_argument("--tws-zone", default="UTC", help="time zone TWS is logged in with (default UTC)")
    p.add_argument(
        "--pacing-scale",
        type=float,
        default=1.0,
        help="multiply IB's historical pacing windows (e.g. 0.01 for fast tests)",
    )
    p.add_argument("--no-pacing", action="store_true", help="do not enforce historical pacing rules")
    p.add_argument(
        "--max-message-rate",
        type=int,
        default=50,
        help="IB's API message-rate limit per client, messages/s (default 50: error 100, then disconnect)",
    )
    p.add_argument("--no-rate-limit", action="store_true", help="do not enforce the API message-rate limit")
    p.add_argument("--readonly", action="store_true", help="behave as a gateway with 'Read-Only API' ticked")
    p.add_argument(
        "--admin-port",
        type=int,
        default=None,
        help="open the loopback admin channel for fault injection on this port (0 = any)",
    )
    p.add_argument(
        "--tick-interval",
        type=float,
        default=Timing.tick_interval,
        help="real seconds between market-data updates (default %(default)s)",
    )
    p.add_argument("--log-level", default="INFO")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    pacing = PacingRules.scaled(args.pacing_scale)
    if args.no_pacing:
        pacing = PacingRules(enabled=False)
    config = SimConfig(
        host=args.host,
        port=args.port,
        accounts=tuple(args.accounts or ["DU123456"]),
        seed=args.seed,
        start=args.start,
        speed=args.speed,
        pacing=pacing,
        state_file=args.state_file,
        tws_zone=args.tws_zone,
        readonly_api=args.readonly,
        max_message_rate=None if args.no_rate_limit else args.max_message_rate,
        admin_port=args.admin_port,
        timing=Timing(tick_interval=args.tick_interval),
    )

    async def serve() -> int:
        sim = IBSim(config)
        await sim.start()
        if sim.admin_port is not None:
            logging.getLogger("ibsim").info("admin channel on 127.0.0.1:%d", sim.admin_port)
        stop = asyncio.Event()
        received: list[int] = []
        loop = asyncio.get_running_loop()

        def on_signal(signum: int) -> None:
            received.append(signum)
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
        await stop.wait()
        await sim.stop()  # a safe point: sessions closed, state file saved
        signum = received[0]
        print(f"ibsim: interrupted ({signal.Signals(signum).name})", file=sys.stderr)
        return EXIT_ON_SIGNAL[signum]

    try:
        return asyncio.run(serve())
    except OSError as exc:  # the port is taken or the address is not ours
        print(f"ibsim: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CANNOT_LISTEN


if __name__ == "__main__":
    sys.exit(main())
