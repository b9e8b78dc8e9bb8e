"""deploy/Dockerfile, deploy/entrypoint.sh and deploy/healthcheck.py, without docker.

The Dockerfile is checked for its essentials; the entry point is run with a stand-in `python`
on PATH that prints what it was asked to run; the health check is run against real HTTP servers
on loopback.
"""

from __future__ import annotations

import contextlib
import http.server
import importlib.util
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.compose_support import DEPLOY, DOCKERFILE, ENTRYPOINT, HEALTHCHECK, REPO_ROOT

_spec = importlib.util.spec_from_file_location("deploy_healthcheck", HEALTHCHECK)
healthcheck = importlib.util.module_from_spec(_spec)  # deploy/healthcheck.py, a script
_spec.loader.exec_module(healthcheck)

ENTRY_MODULES = {
    "market-data-service": "sysproduction.market_data_service",
    "schedule": "sysproduction.schedule",
    "update-prices": "sysproduction.update_historical_prices",
    "seed-prices": "sysproduction.seed_price_data_from_IB",
    "check-prices": "sysproduction.check_price_data",
    "stack-handler": "sysproduction.example_stack_handler",
    "client-ids": "sysproduction.clientids",
    "ibsim": "ibsim",
}


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def test_base_image_is_python_311_slim():
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", DOCKERFILE.read_text(), re.M))
    [base] = [rest for word, rest in instructions() if word == "FROM"]
    assert base == "${PYTHON_IMAGE}" and args["PYTHON_IMAGE"] == "python:3.11-slim"


def test_runs_as_a_non_root_user():
    users = [rest for word, rest in instructions() if word == "USER"]
    assert users, "no USER instruction: the container would run as root"
    name = users[-1].split(":")[0]
    assert name not in ("root", "0")
    assert re.search(rf"useradd .*--uid (\d+) .*{name}", DOCKERFILE.read_text().replace("\\\n", " "))


def test_installs_the_project_with_optional_extras():
    runs = " ".join(rest for word, rest in instructions() if word == "RUN")
    assert 'pip install ".${EXTRAS:+[$EXTRAS]}"' in runs
    setup = (REPO_ROOT / "setup.py").read_text()
    assert '"arctic"' in setup
    copied = {rest.split()[0] for word, rest in instructions() if word == "COPY"}
    include = re.search(r"include=\[([^\]]+)\]", setup).group(1)
    for package in re.findall(r'"(\w+)\*"', include):
        assert package in copied, f"setup.py packages {package}, the Dockerfile does not copy it"
        assert (REPO_ROOT / package).is_dir()
    for source in copied - {"setup.py"}:
        assert (REPO_ROOT / source).exists(), f"COPY {source}: no such file"


def test_health_check_and_entry_point():
    words = dict(instructions())
    assert "/opt/ibfutures/healthcheck.py" in words["HEALTHCHECK"] and "--timeout=" in words["HEALTHCHECK"]
    assert words["ENTRYPOINT"] == '["/opt/ibfutures/entrypoint.sh"]'
    assert "COPY deploy/healthcheck.py /opt/ibfutures/healthcheck.py" in DOCKERFILE.read_text()
    assert "COPY deploy/entrypoint.sh /opt/ibfutures/entrypoint.sh" in DOCKERFILE.read_text()


def test_dockerignore_keeps_private_files_out():
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    for name in ("private", "deploy/.env", ".venv", ".git", "data"):
        assert name in ignored


# --------------------------------------------------------------------------- entry point


@pytest.fixture
def fake_python(tmp_path) -> dict[str, str]:
    """An environment whose `python` prints its arguments instead of running them."""
    (tmp_path / "python").write_text('#!/bin/sh\necho "python $*"\n')
    (tmp_path / "python").chmod(0o755)
    return {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}


def run_entry(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(ENTRYPOINT), *args], env=env, capture_output=True, text=True, timeout=10)


@pytest.mark.parametrize(("command", "module"), sorted(ENTRY_MODULES.items()))
def test_entry_point_runs_each_process_with_its_options(fake_python, command, module):
    result = run_entry(fake_python, command, "--flag", "two words")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"python -m {module} --flag two words"
    path = REPO_ROOT / Path(*module.split("."))
    assert path.with_suffix(".py").is_file() or (path / "__main__.py").is_file(), f"{module} does not exist"


def test_entry_point_lists_its_commands_and_runs_anything_else(fake_python):
    listing = run_entry(fake_python, "help").stdout
    assert all(command in listing for command in ENTRY_MODULES)
    assert run_entry(fake_python).stdout == listing  # no command: the list
    result = run_entry(fake_python, "echo", "hello")
    assert (result.returncode, result.stdout) == (0, "hello\n")
    assert os.access(ENTRYPOINT, os.X_OK)


# --------------------------------------------------------------------------- health check


@contextlib.contextmanager
def http_server(status: int, body: bytes = b'{"ready": true}') -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append(dict(self.headers))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/ready", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_health_check_passes_on_200_and_fails_on_503():
    with http_server(200) as (url, _):
        assert healthcheck.main([url]) == 0
    with http_server(503, b'{"ready": false, "reason": "gateway down"}') as (url, _):
        healthy, line = healthcheck.check(url)
        assert not healthy and "503" in line and "gateway down" in line
        assert healthcheck.main([url]) == 1


def test_health_check_fails_when_nothing_listens():
    with http_server(200) as (url, _):
        pass  # closed again: the port is free now
    healthy, line = healthcheck.check(url, timeout=2)
    assert not healthy and url in line


def test_health_check_sends_the_service_token(monkeypatch):
    monkeypatch.setenv(healthcheck.TOKEN_ENV, "s3cret")
    with http_server(200) as (url, seen):
        assert healthcheck.main([url]) == 0
    assert seen[0]["Authorization"] == "Bearer s3cret"


def test_health_check_url_from_the_environment_or_the_config(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("IBFUTURES_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PYSYS_PRIVATE_CONFIG_DIR", str(tmp_path))
    monkeypatch.delenv("HEALTHCHECK_URL", raising=False)
    assert healthcheck.url_from_config() is None
    assert healthcheck.main([]) == 0  # nothing to ask: a one-off script container
    monkeypatch.setenv("IBFUTURES_OPS_HTTP_PORT", "9101")
    monkeypatch.setenv("IBFUTURES_OPS_HTTP_HOST", "0.0.0.0")
    assert healthcheck.url_from_config() == "http://127.0.0.1:9101/ready"
    with http_server(503) as (url, _):
        monkeypatch.setenv("HEALTHCHECK_URL", url)
        assert healthcheck.main([]) == 1


def test_health_check_script_runs_standalone():
    with http_server(200) as (url, _):
        result = subprocess.run(
            [sys.executable, str(HEALTHCHECK), url], capture_output=True, text=True, timeout=30, cwd="/"
        )
    assert result.returncode == 0 and "200" in result.stdout
