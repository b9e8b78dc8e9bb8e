"""Reading deploy/: the compose file, the .env example and compose's ${VAR} substitution rules.

Enough of the compose specification's interpolation for the tests (no docker needed):
`${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `$VAR`, `$$`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
DOCKERFILE = DEPLOY / "Dockerfile"
ENTRYPOINT = DEPLOY / "entrypoint.sh"
HEALTHCHECK = DEPLOY / "healthcheck.py"

PROJECT_SERVICES = ("market-data-service", "price-update", "stack-handler")
# Variables that must come from deploy/.env and have no default anywhere in the repository.
SECRETS = ("TWS_PASSWORD", "MONGO_PASSWORD", "MDS_TOKEN", "VNC_SERVER_PASSWORD")
# Stand-ins for the secrets when a test needs a complete environment.
FAKE_SECRETS = {
    "TWS_USERID": "testuser",
    "TWS_PASSWORD": "not-a-real-password",
    "MONGO_PASSWORD": "0123456789abcdef",
    "MDS_TOKEN": "fedcba9876543210",
}

_REFERENCE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(ValueError):
    """A `${VAR:?message}` whose variable is unset (or empty)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def read_env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """KEY=VALUE lines (comments and blank lines skipped), as compose reads a plain .env."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"{path}:{number}: not a KEY=VALUE line: {line!r}")
        values[name] = value
    return values


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """`text` with compose's variable references replaced from `variables`."""

    def replace(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("braced") or match.group("bare")
        op, arg = match.group("op"), match.group("arg") or ""
        value = variables.get(name)
        unset_or_empty = not value
        if op in (":-", "-"):
            use_default = unset_or_empty if op == ":-" else value is None
            return interpolate(arg, variables) if use_default else value
        if op in (":?", "?"):
            failed = unset_or_empty if op == ":?" else value is None
            if failed:
                raise MissingVariable(name, arg)
            return value
        return value or ""

    return _REFERENCE.sub(replace, text)


def references(text: str) -> list[str]:
    """Names of the variables `text` refers to."""
    return [m.group("braced") or m.group("bare") for m in _REFERENCE.finditer(text) if not m.group("escaped")]


def environment_of(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's `environment` (map or KEY=VALUE list), values as compose passes them (strings)."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        pairs = dict(item.partition("=")[::2] for item in raw)
    else:
        pairs = {str(k): v for k, v in raw.items()}
    return {k: _as_env_string(v) for k, v in pairs.items()}


def _as_env_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def resolved_environment(service: Mapping[str, Any], variables: Mapping[str, str]) -> dict[str, str]:
    return {k: interpolate(v, variables) for k, v in environment_of(service).items()}


def example_variables() -> dict[str, str]:
    """deploy/.env.example with the secrets filled in by stand-ins."""
    return {**read_env_file(), **FAKE_SECRETS}
