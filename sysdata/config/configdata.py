"""Configuration: `defaults.yaml` < `private/private_config.yaml` < `IBFUTURES_*` environment
variables < explicit overrides.

    from sysdata.config.configdata import load_config

    config = load_config()                                   # reads os.environ
    config = load_config(environ={"IBFUTURES_IB_PORT": "4002"})
    config.ib_port, config.sources["ib_port"]                # 4002, 'environment variable IBFUTURES_IB_PORT'

The private folder is `<project root>/private` unless the environment variable
`PYSYS_PRIVATE_CONFIG_DIR` names another one, either as a path or, as in pysystemtrade, as an
importable package in dotted form (`mypackage.private_config_dir`). Every layer is checked key by
key, so a mistake is reported as a `ConfigError` that names the file, the key and the line (or,
for the environment layer, the variable).

Environment layer: `IBFUTURES_` + the key in upper case sets that key (`IBFUTURES_IB_PORT=4002`
sets `ib_port`). The value is read as a YAML value, so `4002`, `true`, `null`, `[a, b]` and
`{max_attempts: 5}` mean what they mean in the YAML file, and it goes through the same checker.
Where the checker wants a string and the YAML reading is not one (an account `123456`, a token
`#x1`), the text as written is used. An empty variable counts as unset. An `IBFUTURES_` variable
that names no key is an error, except the few that configure something else
(`RESERVED_ENV_VARS`).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib.util
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sysdata.config import schema
from sysdata.config.schema import ConfigError, InvalidValue, ReconnectPolicy, ResetWindow

__all__ = [
    "Config",
    "ConfigError",
    "ReconnectPolicy",
    "ResetWindow",
    "ENV_PREFIX",
    "RESERVED_ENV_VARS",
    "env_variable_for",
    "get_production_config",
    "load_config",
    "resolve_private_dir",
]

DEFAULTS_FILE = Path(__file__).with_name("defaults.yaml")
PRIVATE_CONFIG_FILENAME = "private_config.yaml"
PRIVATE_DIR_ENV = "PYSYS_PRIVATE_CONFIG_DIR"
DEFAULT_PRIVATE_DIR = Path(__file__).resolve().parents[2] / "private"
OVERRIDES_SOURCE = "<overrides>"
ENV_PREFIX = "IBFUTURES_"
ENV_SOURCE = "environment variable"
# IBFUTURES_* variables that are not configuration keys (read by their own modules).
RESERVED_ENV_VARS = frozenset(
    {
        "IBFUTURES_LEASE_HOST",  # sysdata.production.broker_client_id: host name recorded in leases
    }
)
_YAML_NULLS = frozenset({"null", "Null", "NULL", "~"})
_DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


EMBEDDED_PACING_SCALE = 0.01
LOOPBACK_HOSTS = ("localhost",)  # with any 127.x.x.x or ::1 address: the market-data service needs no token


def is_loopback_host(host: str) -> bool:
    """True for localhost and loopback addresses (where a service needs no token)."""
    import ipaddress

    try:
        return host in LOOPBACK_HOSTS or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Config:
    """The merged, validated configuration. Attribute access, or pysystemtrade's `get_element`."""

    ib_ipaddress: str
    ib_port: int
    ib_idoffset: int
    broker_account: str
    ib_readonly: bool
    ib_connect_timeout: float
    ib_request_timeout: float
    ib_gateway: str
    ib_reconnect: ReconnectPolicy
    ib_reset_windows: tuple[ResetWindow, ...]
    ib_pacing_scale: float
    ib_pacing_shared: bool
    ib_pacing_profile: str
    ib_market_data_lines: int | None
    mongo_host: str | None
    mongo_db: str
    mongo_port: int
    mongo_options: Mapping[str, Any]  # MongoDB connection-string options, passed to MongoClient
    client_id_lease_seconds: float
    client_id_heartbeat_seconds: float
    data_folder: str
    sqlite_path: str
    price_store: str
    log_level: str
    log_format: str
    ops_http_host: str
    ops_http_port: int | None
    stream_stale_seconds: float
    ib_market_data_type: str
    stream_first_data_seconds: float
    market_data_service_host: str
    market_data_service_port: int
    market_data_service_token: str | None
    market_data_service_queue: int
    market_data_service_slow_reader_policy: str
    market_data_service_max_history_days: float
    # pysystemtrade keys accepted unchanged (see schema.PYSYSTEMTRADE_PASSTHROUGH_KEYS)
    extra: Mapping[str, Any] = field(default_factory=dict)
    # key -> file, "environment variable IBFUTURES_<KEY>" or "<overrides>": where its value came from
    sources: Mapping[str, str] = field(default_factory=dict, repr=False)
    private_config_file: Path | None = None

    def get_element(self, name: str) -> Any:
        """The value of one key, as pysystemtrade's `config.get_element`; KeyError if unknown."""
        if name in schema.KEY_CHECKERS:
            return getattr(self, name)
        if name in self.extra:
            return self.extra[name]
        raise KeyError(f"no configuration key {name!r}")

    def get_element_or_default(self, name: str, default: Any) -> Any:
        try:
            return self.get_element(name)
        except KeyError:
            return default

    def __getitem__(self, name: str) -> Any:
        return self.get_element(name)

    def __contains__(self, name: object) -> bool:
        return name in schema.KEY_CHECKERS or name in self.extra

    def keys(self) -> Iterator[str]:
        yield from schema.KEY_CHECKERS
        yield from self.extra

    def as_dict(self) -> dict[str, Any]:
        """Plain data (dataclasses turned into dicts), e.g. for printing."""
        values = {name: getattr(self, name) for name in schema.KEY_CHECKERS}
        values["ib_reconnect"] = dataclasses.asdict(self.ib_reconnect)
        values["ib_reset_windows"] = [
            {**dataclasses.asdict(w), "start": w.start.strftime("%H:%M"), "end": w.end.strftime("%H:%M")}
            for w in self.ib_reset_windows
        ]
        return {**values, **self.extra}


@dataclass
class _Layer:
    source: str
    values: Mapping[Any, Any]
    lines: dict[str, int] = field(default_factory=dict)

    def error(self, problem: str, key: str | None) -> ConfigError:
        return ConfigError(problem, source=self.source, key=key, line=self.lines.get(key or ""))

    def source_of(self, key: str) -> str:
        return self.source


@dataclass
class _EnvLayer(_Layer):
    """The `IBFUTURES_*` variables; errors name the variable that set the key."""

    variables: dict[str, str] = field(default_factory=dict)  # key -> variable name

    def error(self, problem: str, key: str | None) -> ConfigError:
        top = re.split(r"[.\[]", key or "", maxsplit=1)[0]
        variable = self.variables.get(top)
        source = f"{ENV_SOURCE} {variable}" if variable else self.source
        return ConfigError(problem, source=source, key=key)

    def source_of(self, key: str) -> str:
        variable = self.variables.get(key)
        return f"{ENV_SOURCE} {variable}" if variable else self.source


def load_config(
    private_dir: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Load defaults, the private config (if any), `IBFUTURES_*` variables of `environ` (default
    `os.environ`), then `overrides`; validate everything."""
    folder = resolve_private_dir(private_dir)
    private_file = folder / PRIVATE_CONFIG_FILENAME if folder is not None else None
    layers: list[_Layer] = [_read_yaml_layer(DEFAULTS_FILE)]
    if private_file is not None and private_file.is_file():
        layers.append(_read_yaml_layer(private_file))
    else:
        private_file = None
    env_layer = _read_env_layer(os.environ if environ is None else environ)
    if env_layer.values:
        layers.append(env_layer)
    if overrides:
        layers.append(_Layer(OVERRIDES_SOURCE, dict(overrides)))
    return _build(layers, private_file)


@functools.cache
def get_production_config() -> Config:
    """The process-wide configuration, loaded once (clear with `get_production_config.cache_clear()`)."""
    return load_config()


def resolve_private_dir(private_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The private folder: the argument, else PYSYS_PRIVATE_CONFIG_DIR, else `<root>/private`."""
    if private_dir is not None:
        path = Path(private_dir).expanduser()
        if not path.is_dir():
            raise ConfigError(f"private config folder {str(path)!r} does not exist", source="private_dir argument")
        return path
    from_env = os.environ.get(PRIVATE_DIR_ENV)
    if from_env:
        return _private_dir_from_env(from_env)
    return DEFAULT_PRIVATE_DIR if DEFAULT_PRIVATE_DIR.is_dir() else None


def _private_dir_from_env(value: str) -> Path:
    path = Path(value).expanduser()
    if path.is_dir():
        return path
    if _DOTTED_NAME.fullmatch(value):
        try:
            spec = importlib.util.find_spec(value)
        except ImportError:
            spec = None
        if spec is not None and spec.submodule_search_locations:
            return Path(next(iter(spec.submodule_search_locations)))
    raise ConfigError(
        f"expected an existing folder or an importable package in dotted form, got {value!r}",
        source=f"environment variable {PRIVATE_DIR_ENV}",
    )


def _read_yaml_layer(path: Path) -> _Layer:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        values = yaml.safe_load(text)
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=source) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"invalid YAML: {problem}", source=source, line=line) from exc
    if values is None:
        return _Layer(source, {})
    if not isinstance(values, dict) or not isinstance(root, yaml.MappingNode):
        kind = type(values).__name__
        line = root.start_mark.line + 1 if root is not None else None
        raise ConfigError(
            f"expected a mapping of key: value pairs at top level, got a {kind}", source=source, line=line
        )
    lines: dict[str, int] = {}
    _collect_lines(root, "", lines, source)
    return _Layer(source, values, lines)


def env_variable_for(key: str) -> str:
    """The environment variable that sets `key`: `ib_port` -> `IBFUTURES_IB_PORT`."""
    return ENV_PREFIX + key.upper()


def _env_keys() -> dict[str, str]:
    """Variable name -> key, for every key the environment may set."""
    keys = [*schema.KEY_CHECKERS, *schema.PYSYSTEMTRADE_PASSTHROUGH_KEYS]
    return {env_variable_for(key): key for key in keys}


def _read_env_layer(environ: Mapping[str, str]) -> _EnvLayer:
    """The `IBFUTURES_*` variables of `environ` as a layer of raw values (checked like the YAML)."""
    layer = _EnvLayer(ENV_SOURCE, {})
    known = _env_keys()
    values: dict[str, Any] = {}
    for variable in sorted(name for name in environ if name.startswith(ENV_PREFIX)):
        text = environ[variable]
        if variable in RESERVED_ENV_VARS or text == "":
            continue
        key = known.get(variable)
        if key is None:
            hint = difflib.get_close_matches(variable, [*known, *RESERVED_ENV_VARS], n=1, cutoff=0.8)
            suggestion = f"did you mean {hint[0]}?" if hint else "see docs/configuration.md"
            problem = f"no configuration key is named by this variable ({ENV_PREFIX} + an upper-case key; {suggestion})"
            raise ConfigError(problem, source=f"{ENV_SOURCE} {variable}")
        layer.variables[key] = variable
        values[key] = _env_value(layer, key, text)
    layer.values = values
    return layer


def _env_value(layer: _EnvLayer, key: str, text: str) -> Any:
    """The raw value of one variable: its YAML reading, or the text itself where only that passes."""
    try:
        parsed = yaml.safe_load(text)
        if parsed is None and text.strip() not in _YAML_NULLS:
            raise yaml.YAMLError("a comment, not a value")  # e.g. '#token': not a null
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        if _accepts(key, text):
            return text
        raise layer.error(f"invalid YAML value {text!r}: {problem}", key) from None
    if key in schema.PYSYSTEMTRADE_PASSTHROUGH_KEYS or _accepts(key, parsed) or not _accepts(key, text):
        return parsed  # the checker (run again in _check_layer) reports a bad value
    return text


def _accepts(key: str, value: Any) -> bool:
    checker = schema.KEY_CHECKERS.get(key)
    if checker is None:
        return True
    try:
        checker(value)
    except InvalidValue:
        return False
    return True


def _collect_lines(node: yaml.Node, prefix: str, lines: dict[str, int], source: str) -> None:
    """Map dotted key paths ('ib_reconnect.max_delay', 'ib_reset_windows[1].tz') to 1-based lines."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
            if path in lines:
                line = key_node.start_mark.line + 1
                raise ConfigError("duplicate key", source=source, key=path, line=line)
            lines[path] = key_node.start_mark.line + 1
            _collect_lines(value_node, path, lines, source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            path = f"{prefix}[{index}]"
            lines[path] = item.start_mark.line + 1
            _collect_lines(item, path, lines, source)


def _check_layer(layer: _Layer) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate one layer key by key; returns (known keys, pysystemtrade passthrough keys)."""
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, raw in layer.values.items():
        if key in schema.PYSYSTEMTRADE_PASSTHROUGH_KEYS:
            extra[key] = raw
            continue
        checker = schema.KEY_CHECKERS.get(key) if isinstance(key, str) else None
        if checker is None:
            hint = difflib.get_close_matches(str(key), list(schema.KEY_CHECKERS), n=1)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else " (see docs/configuration.md)"
            raise layer.error(f"unknown key{suggestion}", str(key))
        try:
            known[key] = checker(raw)
        except InvalidValue as exc:
            raise layer.error(exc.describe(), key + exc.subkey) from None
    return known, extra


def _build(layers: list[_Layer], private_file: Path | None) -> Config:
    merged: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    origin: dict[str, _Layer] = {}
    for layer in layers:
        known, passthrough = _check_layer(layer)
        extra.update(passthrough)
        for key, value in known.items():
            if key == "ib_reconnect":  # nested mapping: merge field by field, like pysystemtrade
                value = {**merged.get(key, {}), **value}
            merged[key] = value
            origin[key] = layer

    missing = [key for key in schema.KEY_CHECKERS if key not in merged]
    if missing:
        raise layers[0].error("required key missing from the shipped defaults", missing[0])

    try:
        merged["ib_reconnect"] = schema.reconnect_policy(merged["ib_reconnect"])
    except InvalidValue as exc:
        raise origin["ib_reconnect"].error(exc.describe(), "ib_reconnect" + exc.subkey) from None

    if merged["client_id_heartbeat_seconds"] >= merged["client_id_lease_seconds"]:
        key = "client_id_heartbeat_seconds"
        if layers.index(origin["client_id_lease_seconds"]) > layers.index(origin[key]):
            key = "client_id_lease_seconds"
        lease = merged["client_id_lease_seconds"]
        problem = f"client_id_heartbeat_seconds must be shorter than client_id_lease_seconds ({lease})"
        raise origin[key].error(problem, key)

    if merged["market_data_service_token"] is None and not is_loopback_host(merged["market_data_service_host"]):
        key = "market_data_service_host"
        problem = "market_data_service_token is required when the market-data service binds beyond loopback"
        raise origin[key].error(problem, key)

    if merged["ib_gateway"] is None:
        merged["ib_gateway"] = "external" if private_file is not None else "ibsim"
    if merged["ib_pacing_scale"] is None:
        # IB's own windows for a real gateway; the embedded simulator paces 100 times faster.
        merged["ib_pacing_scale"] = EMBEDDED_PACING_SCALE if merged["ib_gateway"] == "ibsim" else 1.0

    data_folder = os.path.expanduser(merged["data_folder"])
    merged["data_folder"] = data_folder
    for key in ("sqlite_path", "price_store"):
        merged[key] = merged[key].replace("{data_folder}", data_folder)
    merged["sqlite_path"] = os.path.expanduser(merged["sqlite_path"])

    sources = {key: layer.source_of(key) for key, layer in origin.items()}
    return Config(**merged, extra=extra, sources=sources, private_config_file=private_file)
