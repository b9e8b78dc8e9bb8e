"""A loopback admin channel for a standalone gateway: one JSON command per line.

    {"cmd": "restart", "down": 5}
    {"cmd": "connectivity_lost", "restore": "1101", "after": 2}
    {"cmd": "farm", "code": 2103, "farm": "usfarm"}
    {"cmd": "notice", "code": 2110}
    {"cmd": "pacing", "count": 3}
    {"cmd": "reject", "count": 1, "text": "..."}
    {"cmd": "commission_delay", "seconds": 5}      (null restores the normal delay)
    {"cmd": "drop_commission", "count": 1}
    {"cmd": "duplicate_status", "count": 2}
    {"cmd": "advance", "seconds": 3600}
    {"cmd": "speed", "value": 10}
    {"cmd": "status"}

Each command is answered with one JSON line: {"ok": true, ...} or {"ok": false, "error": "..."}.
`python -m ibsim.admin --port PORT CMD [key=value ...]` sends one command.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import socket
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .interfaces import Gateway

log = logging.getLogger("ibsim.admin")


class AdminServer:
    def __init__(self, sim: Gateway, host: str, port: int):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the admin channel listens on loopback only")
        self.sim = sim
        self.host = host
        self.port = port
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("admin channel on %s:%d", self.host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A client that goes away mid-command is no error of the gateway's.
        with contextlib.suppress(ConnectionError):
            try:
                while line := await reader.readline():
                    try:
                        reply = await self.execute(json.loads(line))
                    except Exception as exc:  # every bad command gets an answer, never a crash
                        reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                    writer.write((json.dumps(reply) + "\n").encode())
                    await writer.drain()
            finally:
                writer.close()

    async def execute(self, command: dict) -> dict:
        sim = self.sim
        faults = sim.faults
        cmd = command.get("cmd")
        if cmd == "restart":
            await faults._start_restart(float(command.get("down", 5)), wait=False)
        elif cmd == "connectivity_lost":
            restore = command.get("restore", "1102")
            faults._lose_connectivity(None if restore is None else str(restore), float(command.get("after", 2)))
        elif cmd == "connectivity_restored":
            faults._restore(str(command.get("code", "1102")))
        elif cmd == "farm":
            from . import errors

            code = int(command["code"])
            farms = [command["farm"]] if command.get("farm") else errors.FARMS.get(code, ("usfarm",))
            faults._broadcast([(code, errors.text(code, farm=f)) for f in farms])
        elif cmd == "notice":
            from . import errors

            code = int(command["code"])
            faults._broadcast([(code, command.get("text") or errors.text(code))])
        elif cmd == "pacing":
            sim.pacer.force_violations(int(command.get("count", 1)))
        elif cmd == "reject":
            kwargs = {"count": int(command.get("count", 1))}
            if command.get("text"):
                kwargs["text"] = command["text"]
            sim.broker.inject_reject(**kwargs)
        elif cmd == "commission_delay":
            seconds = command.get("seconds")
            faults.delay_commissions(None if seconds is None else float(seconds))
        elif cmd == "drop_commission":
            faults.drop_commissions(int(command.get("count", 1)))
        elif cmd == "duplicate_status":
            faults.duplicate_order_status(int(command.get("count", 1)))
        elif cmd == "advance":
            sim.clock.advance(float(command["seconds"]))
        elif cmd == "speed":
            sim.clock.set_speed(float(command["value"]))
        elif cmd != "status":
            return {"ok": False, "error": f"unknown command {cmd!r}"}
        return {"ok": True, **sim.status()}


def send_command(port: int, command: dict, host: str = "127.0.0.1", timeout: float = 10.0) -> dict:
    """Send one admin command to a running gateway and return its answer."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall((json.dumps(command) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ibsim.admin", description="Send a command to ibsim's admin channel"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True, help="the gateway's --admin-port")
    parser.add_argument(
        "cmd",
        help="restart, connectivity_lost, farm, notice, pacing, reject, commission_delay, "
        "drop_commission, duplicate_status, advance, speed, status",
    )
    parser.add_argument("args", nargs="*", help="key=value pairs, e.g. down=5")
    ns = parser.parse_args(argv)
    command = {"cmd": ns.cmd}
    for pair in ns.args:
        key, sep, value = pair.partition("=")
        if not sep:
            parser.error(f"argument {pair!r} is not key=value")
        command[key] = _value(value)
    reply = send_command(ns.port, command, ns.host)
    print(json.dumps(reply, indent=2))
    return 0 if reply.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
