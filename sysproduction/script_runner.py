"""Run a production script like a production tool: clean stops, one-line errors, exit codes, logs.

    from sysproduction.script_runner import run_script, stop_point

    def main(argv=None) -> int:
        args = build_parser().parse_args(argv)          # usage errors: argparse exits 2
        summary = Summary()
        def body(config) -> int:
            for contract in contracts:
                stop_point()                            # a safe point: stops here when interrupted
                seed(contract, summary)
            print(summary)
            return 0
        return run_script("seed_price_data_from_IB", body, on_interrupt=lambda: print(summary))

`run_script` loads the configuration (`get_production_config()`, or `load_config=`), sets up
logging from it (`log_level`; `log_format: json` for one JSON object per line), installs SIGINT
and SIGTERM handlers, runs `body(config)` and turns what ends it into an exit code and, for the
expected failures, one clear line on stderr (the traceback only at log level DEBUG):

| code | meaning |
|---|---|
| 0 | done |
| 1 | finished with errors the script lists itself (price jobs), or an unexpected error (a bug): one line, traceback logged at ERROR |
| 2 | configuration error (file, key and line) or bad command line |
| 3 | IB gateway not reachable (refused, no handshake, lost and not back in time) |
| 4 | client id refused (326) or no free client id in the store |
| 5 | account not managed by the gateway |
| 6 | another IB error the script did not handle (permissions, no data, pacing, ...) |
| 7 | metadata store (MongoDB / SQLite) not reachable or failing |
| 130 | interrupted by SIGINT (Ctrl-C) |
| 143 | interrupted by SIGTERM |

**Stopping at a safe point.** A script that calls `stop_point()` between units of work (a
contract, an order step) opts in with `safe_points=True`: the first signal only asks it to stop,
and the next `stop_point()` raises `ScriptInterrupted`. Without `safe_points` (or on a second
signal) `ScriptInterrupted` is raised at once, as Python does for Ctrl-C. Either way the script's
`finally` / `with` blocks run (connections closed, client ids released), "interrupted" is
printed on stderr, then the partial summary (`on_interrupt`), and the exit code is 130 or 143.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from sysdata.config.configdata import Config, ConfigError, get_production_config

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_CONFIG = 2
EXIT_GATEWAY_UNREACHABLE = 3
EXIT_CLIENT_ID_REFUSED = 4
EXIT_ACCOUNT_NOT_MANAGED = 5
EXIT_IB_ERROR = 6
EXIT_STORE = 7
EXIT_SIGINT = 128 + signal.SIGINT  # 130
EXIT_SIGTERM = 128 + signal.SIGTERM  # 143

log = logging.getLogger("script_runner")


class ScriptInterrupted(KeyboardInterrupt):
    """A stop was asked for (SIGINT or SIGTERM); `signum` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


# --------------------------------------------------------------------- stopping
_state = threading.local()


class _Stopper:
    def __init__(self, safe_points: bool) -> None:
        self.safe_points = safe_points
        self.requested: int | None = None

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        first = self.requested is None
        self.requested = self.requested or signum
        if self.safe_points and first:
            log.warning("%s received: stopping at the next safe point", signal.Signals(signum).name)
            return
        raise ScriptInterrupted(self.requested)


def stop_point() -> None:
    """A safe point: raise `ScriptInterrupted` if a stop was asked for (else return at once)."""
    stopper: _Stopper | None = getattr(_state, "stopper", None)
    if stopper is not None and stopper.requested is not None:
        raise ScriptInterrupted(stopper.requested)


def stop_requested() -> bool:
    """True once SIGINT/SIGTERM arrived (for loops that prefer to end by themselves)."""
    stopper: _Stopper | None = getattr(_state, "stopper", None)
    return stopper is not None and stopper.requested is not None


@contextlib.contextmanager
def signal_handlers(safe_points: bool = False) -> Iterator[_Stopper]:
    """SIGINT/SIGTERM raise `ScriptInterrupted` (or request a stop, with `safe_points`)."""
    stopper = _Stopper(safe_points)
    previous: dict[int, Any] = {}
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, stopper.on_signal)
    _state.stopper = stopper
    try:
        yield stopper
    finally:
        _state.stopper = None
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# ---------------------------------------------------------------------- logging
class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: time (UTC ISO), level, logger, message, pid, [exception]."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: str = "INFO", fmt: str = "text", stream: Any = None) -> logging.Handler:
    """Replace the root logger's handlers with one on stderr, in `fmt` ("text" or "json")."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLineFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


# ---------------------------------------------------------------------- errors
def classify_failure(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one-line message for an exception that ended a script."""
    from sysbrokers.IB.ib_errors import IBAccountNotManaged, IBClientIdInUse, IBError, IBNotConnected
    from sysdata.production.broker_client_id import ClientIdError

    if isinstance(exc, ConfigError):
        return EXIT_CONFIG, f"configuration error: {exc}"
    if isinstance(exc, IBNotConnected):
        return EXIT_GATEWAY_UNREACHABLE, f"IB gateway not reachable: {exc}"
    if isinstance(exc, (IBClientIdInUse, ClientIdError)):
        return EXIT_CLIENT_ID_REFUSED, f"client id refused: {exc}"
    if isinstance(exc, IBAccountNotManaged):
        return EXIT_ACCOUNT_NOT_MANAGED, f"account not managed: {exc}"
    if isinstance(exc, IBError):
        return EXIT_IB_ERROR, f"IB error: {exc}"
    if _is_store_error(exc):
        return EXIT_STORE, f"metadata store error: {type(exc).__name__}: {exc}"
    return EXIT_UNEXPECTED, f"unexpected error: {type(exc).__name__}: {exc}"


def _is_store_error(exc: BaseException) -> bool:
    import sqlite3

    try:
        from pymongo.errors import PyMongoError
    except ImportError:  # pragma: no cover - pymongo is a dependency
        PyMongoError = ()  # noqa: N806
    return isinstance(exc, (sqlite3.Error, PyMongoError))


def run_script(
    name: str,
    body: Callable[[Config], int | None],
    on_interrupt: Callable[[], Any] | None = None,
    safe_points: bool = False,
    load_config: Callable[[], Config] = get_production_config,
    configure_logging: bool = True,
) -> int:
    """Run `body(config)` as script `name`; returns the exit code (see the module docstring)."""
    err = sys.stderr
    with signal_handlers(safe_points):
        try:
            config = load_config()
            if configure_logging:
                setup_logging(config.log_level, config.log_format)
            result = body(config)
            return EXIT_OK if result is None else int(result)
        except ScriptInterrupted as stop:
            return _interrupted(name, stop.signum, on_interrupt)
        except KeyboardInterrupt:  # a Ctrl-C that arrived before our handler was installed
            return _interrupted(name, signal.SIGINT, on_interrupt)
        except Exception as exc:
            code, line = classify_failure(exc)
            print(f"{name}: {line}", file=err)
            logger = logging.getLogger(name)
            if code == EXIT_UNEXPECTED:
                logger.error("%s failed", name, exc_info=exc)
            elif logger.isEnabledFor(logging.DEBUG):
                logger.debug("traceback:\n%s", "".join(traceback.format_exception(exc)))
            return code


def _interrupted(name: str, signum: int, on_interrupt: Callable[[], Any] | None) -> int:
    print(f"{name}: interrupted ({signal.Signals(signum).name})", file=sys.stderr)
    if on_interrupt is not None:
        try:
            on_interrupt()
        except Exception as exc:  # the summary must not turn an interrupt into a crash
            print(f"{name}: (partial summary failed: {exc})", file=sys.stderr)
    return 128 + signum


__all__ = [
    "EXIT_ACCOUNT_NOT_MANAGED",
    "EXIT_CLIENT_ID_REFUSED",
    "EXIT_CONFIG",
    "EXIT_GATEWAY_UNREACHABLE",
    "EXIT_IB_ERROR",
    "EXIT_OK",
    "EXIT_SIGINT",
    "EXIT_SIGTERM",
    "EXIT_STORE",
    "EXIT_UNEXPECTED",
    "JsonLineFormatter",
    "ScriptInterrupted",
    "classify_failure",
    "run_script",
    "setup_logging",
    "stop_point",
    "stop_requested",
]
