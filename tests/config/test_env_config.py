"""The environment layer: IBFUTURES_<KEY> variables, read as YAML values, checked like the file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sysdata.config import configdata
from sysdata.config.configdata import (
    ENV_PREFIX,
    RESERVED_ENV_VARS,
    ConfigError,
    env_variable_for,
    get_production_config,
    load_config,
)
from sysdata.config.schema import KEY_CHECKERS

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    monkeypatch.delenv(configdata.PRIVATE_DIR_ENV, raising=False)
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    get_production_config.cache_clear()
    yield
    get_production_config.cache_clear()


def load(tmp_path: Path, **variables: str):
    return load_config(private_dir=tmp_path, environ=variables)


def test_prefix_and_upper_case_key_name_the_variable():
    assert env_variable_for("ib_port") == "IBFUTURES_IB_PORT"
    assert env_variable_for("GMT_offset_hours") == "IBFUTURES_GMT_OFFSET_HOURS"
    assert all(name.startswith(ENV_PREFIX) for name in RESERVED_ENV_VARS)
    assert not {env_variable_for(key) for key in KEY_CHECKERS} & RESERVED_ENV_VARS


def test_values_are_read_as_yaml_like_the_file(tmp_path):
    config = load(
        tmp_path,
        IBFUTURES_IB_PORT="4002",
        IBFUTURES_IB_READONLY="true",
        IBFUTURES_IB_CONNECT_TIMEOUT="2.5",
        IBFUTURES_MONGO_HOST="mongodb://db:27017/?replicaSet=rs0",
        IBFUTURES_LOG_LEVEL="debug",
        IBFUTURES_IB_MARKET_DATA_LINES="null",
        IBFUTURES_IB_RESET_WINDOWS='[{region: test, start: "01:00", end: "02:00", tz: UTC, days: [Sat]}]',
    )
    assert (config.ib_port, config.ib_readonly, config.ib_connect_timeout) == (4002, True, 2.5)
    assert config.mongo_host == "mongodb://db:27017/?replicaSet=rs0"
    assert config.log_level == "DEBUG"
    assert config.ib_market_data_lines is None
    [window] = config.ib_reset_windows
    assert (window.region, window.tz, window.days) == ("test", "UTC", ("Sat",))
    assert config.sources["ib_port"] == "environment variable IBFUTURES_IB_PORT"
    assert config.sources["ib_idoffset"].endswith("defaults.yaml")


def test_nested_mapping_merges_field_by_field(tmp_path):
    (tmp_path / "private_config.yaml").write_text("ib_reconnect:\n  initial_delay: 1\n")
    config = load(tmp_path, IBFUTURES_IB_RECONNECT="{max_attempts: 7}")
    assert config.ib_reconnect.max_attempts == 7
    assert config.ib_reconnect.initial_delay == 1.0  # from the private file
    assert config.ib_reconnect.max_delay == 300.0  # from the defaults


def test_string_keys_take_the_text_when_yaml_reads_something_else(tmp_path):
    config = load(tmp_path, IBFUTURES_BROKER_ACCOUNT="123456", IBFUTURES_MONGO_DB="2024")
    assert config.broker_account == "123456" and config.mongo_db == "2024"
    config = load(tmp_path, IBFUTURES_BROKER_ACCOUNT="'DU42'")  # YAML quoting still works
    assert config.broker_account == "DU42"


def test_a_comment_looking_value_is_text_not_null(tmp_path):
    config = load(tmp_path, IBFUTURES_BROKER_ACCOUNT="#DU1")
    assert config.broker_account == "#DU1"
    config = load(tmp_path, IBFUTURES_MONGO_HOST="~")  # a real YAML null
    assert config.mongo_host is None


def test_precedence_defaults_private_environment_overrides(tmp_path):
    (tmp_path / "private_config.yaml").write_text("ib_port: 4001\nib_idoffset: 5\n")
    config = load_config(private_dir=tmp_path, environ={"IBFUTURES_IB_PORT": "4002"})
    assert (config.ib_port, config.ib_idoffset) == (4002, 5)
    config = load_config(private_dir=tmp_path, environ={"IBFUTURES_IB_PORT": "4002"}, overrides={"ib_port": 7497})
    assert config.ib_port == 7497
    assert config.sources["ib_port"] == "<overrides>"


def test_empty_and_reserved_variables_are_ignored(tmp_path):
    config = load(tmp_path, IBFUTURES_IB_PORT="", IBFUTURES_LEASE_HOST="box-a", IBFUTURES_MONGO_HOST="")
    assert config.ib_port == 4001 and config.mongo_host is None
    assert config.sources["ib_port"].endswith("defaults.yaml")


def test_other_variables_are_not_read(tmp_path):
    config = load(tmp_path, IB_PORT="1", ibfutures_ib_port="2", PYSYS_IB_PORT="3")
    assert config.ib_port == 4001


def test_bad_value_names_the_variable(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, IBFUTURES_IB_PORT="abc")
    error = caught.value
    assert str(error).startswith("environment variable IBFUTURES_IB_PORT: key 'ib_port': expected")
    assert "65535" in str(error) and "got 'abc'" in str(error)
    assert (error.source, error.key, error.line) == ("environment variable IBFUTURES_IB_PORT", "ib_port", None)


@pytest.mark.parametrize(
    ("variable", "value", "key", "fragment"),
    [
        ("IBFUTURES_IB_READONLY", "1", "ib_readonly", "expected true or false, got 1"),
        ("IBFUTURES_IB_PORT", '"4002"', "ib_port", "got '4002'"),  # quoted: a string, as in the file
        ("IBFUTURES_IB_RECONNECT", "{max_delay: 1}", "ib_reconnect.max_delay", "max_delay >= initial_delay"),
        ("IBFUTURES_IB_RESET_WINDOWS", "[{region: x}]", "ib_reset_windows[0].start", "a 'start' entry"),
        ("IBFUTURES_IB_IPADDRESS", "300.1.1.1", "ib_ipaddress", "IPv4/IPv6 address or a host name"),
        ("IBFUTURES_MONGO_OPTIONS", "{readPreference: sideways}", "mongo_options.readPreference", "readPreference"),
        ("IBFUTURES_IB_PORT", "[1,", "ib_port", "invalid YAML value '[1,'"),
        ("IBFUTURES_CLIENT_ID_HEARTBEAT_SECONDS", "90", "client_id_heartbeat_seconds", "must be shorter"),
    ],
)
def test_errors_name_variable_and_key(tmp_path, variable, value, key, fragment):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, **{variable: value})
    assert caught.value.source == f"environment variable {variable}"
    assert caught.value.key == key
    assert fragment in str(caught.value)


def test_unknown_variable_is_an_error_with_a_suggestion(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, IBFUTURES_IB_PROT="4002")
    assert caught.value.source == "environment variable IBFUTURES_IB_PROT"
    assert "did you mean IBFUTURES_IB_PORT?" in str(caught.value)
    with pytest.raises(ConfigError, match="IBFUTURES_WHATEVER_THIS_IS: no configuration key"):
        load(tmp_path, IBFUTURES_WHATEVER_THIS_IS="1")


def test_pysystemtrade_passthrough_keys_are_settable(tmp_path):
    config = load(tmp_path, IBFUTURES_BASE_CURRENCY="USD", IBFUTURES_GMT_OFFSET_HOURS="1")
    assert config.get_element("base_currency") == "USD"
    assert config.get_element("GMT_offset_hours") == 1


def test_automatic_gateway_rule_is_unchanged_by_the_environment(tmp_path):
    assert load(tmp_path, IBFUTURES_LOG_LEVEL="INFO").ib_gateway == "ibsim"
    config = load(tmp_path, IBFUTURES_IB_GATEWAY="external")
    assert config.ib_gateway == "external" and config.ib_pacing_scale == 1.0


def test_production_config_reads_the_process_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(configdata.PRIVATE_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("IBFUTURES_IB_PORT", "4002")
    assert get_production_config().ib_port == 4002


def test_a_script_reports_the_variable_and_exits_2(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)},
        "PYTHONPATH": str(REPO_ROOT),
        configdata.PRIVATE_DIR_ENV: str(tmp_path),
        "IBFUTURES_IB_PORT": "abc",
    }
    result = subprocess.run(
        [sys.executable, "-m", "sysproduction.clientids", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "environment variable IBFUTURES_IB_PORT: key 'ib_port': expected" in result.stderr
