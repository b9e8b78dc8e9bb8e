"""Configuration loading: defaults, private file, overrides, relocation and error reports."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
import yaml

from sysdata.config import configdata
from sysdata.config.configdata import ConfigError, get_production_config, load_config
from sysdata.config.schema import KEY_CHECKERS, ReconnectPolicy

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "private" / "private_config.example.yaml"


@pytest.fixture(autouse=True)
def no_env_relocation(monkeypatch):
    monkeypatch.delenv(configdata.PRIVATE_DIR_ENV, raising=False)
    get_production_config.cache_clear()
    yield
    get_production_config.cache_clear()


def write_private(folder: Path, text: str) -> Path:
    path = folder / "private_config.yaml"
    path.write_text(text)
    return path


def test_defaults_without_private_config(tmp_path):
    config = load_config(private_dir=tmp_path)
    assert (config.ib_ipaddress, config.ib_port, config.ib_idoffset) == ("127.0.0.1", 4001, 100)
    assert (config.mongo_host, config.mongo_db, config.mongo_port) == (None, "production", 27017)
    assert config.broker_account == "" and config.ib_readonly is False
    assert config.ib_gateway == "ibsim"  # no private config: the simulated gateway
    assert config.private_config_file is None
    assert config.sqlite_path == "./data/metadata.sqlite"
    assert config.price_store == "parquet://./data/prices"
    assert (config.client_id_lease_seconds, config.client_id_heartbeat_seconds) == (60, 15)
    assert config.ib_reconnect == ReconnectPolicy(5, 300, 2.0, 0.2, None)
    north_america = config.ib_reset_windows[0]
    assert (north_america.region, north_america.tz) == ("north_america", "America/New_York")
    assert (north_america.start, north_america.end) == (dt.time(0, 15), dt.time(1, 45))


def test_attribute_and_dict_access(tmp_path):
    config = load_config(private_dir=tmp_path)
    assert config.get_element("ib_port") == config["ib_port"] == config.ib_port
    assert "ib_port" in config and "nonsense" not in config
    assert config.get_element_or_default("nonsense", 3) == 3
    with pytest.raises(KeyError):
        config.get_element("nonsense")
    assert set(config.as_dict()) == set(KEY_CHECKERS)
    assert config.as_dict()["ib_reset_windows"][0]["start"] == "00:15"


def test_private_config_overrides_defaults_and_arguments_override_both(tmp_path):
    path = write_private(
        tmp_path,
        "ib_port: 4002\nib_idoffset: 7\nib_reconnect:\n  max_attempts: 3\nbroker_account: DU123\n",
    )
    config = load_config(private_dir=tmp_path, overrides={"ib_idoffset": 500, "ib_reconnect": {"initial_delay": 1}})
    assert config.ib_port == 4002 and config.broker_account == "DU123"
    assert config.ib_idoffset == 500
    # nested mappings merge field by field across the three layers
    assert config.ib_reconnect == ReconnectPolicy(1, 300, 2.0, 0.2, 3)
    assert config.ib_gateway == "external"  # a private config exists
    assert config.private_config_file == path
    assert config.sources["ib_port"] == str(path)
    assert config.sources["ib_idoffset"] == "<overrides>"
    assert config.sources["mongo_db"] == str(configdata.DEFAULTS_FILE)


def test_explicit_gateway_and_data_folder_placeholders(tmp_path):
    write_private(
        tmp_path, f"ib_gateway: ibsim\ndata_folder: {tmp_path}/d\nprice_store: lmdb://{{data_folder}}/arctic\n"
    )
    config = load_config(private_dir=tmp_path)
    assert config.ib_gateway == "ibsim"
    assert config.sqlite_path == f"{tmp_path}/d/metadata.sqlite"
    assert config.price_store == f"lmdb://{tmp_path}/d/arctic"


def test_env_relocates_private_folder_as_path(tmp_path, monkeypatch):
    write_private(tmp_path, "ib_idoffset: 1000\n")
    monkeypatch.setenv(configdata.PRIVATE_DIR_ENV, str(tmp_path))
    assert load_config().ib_idoffset == 1000
    assert get_production_config().ib_idoffset == 1000
    assert get_production_config() is get_production_config()  # cached


def test_env_relocates_private_folder_in_dotted_package_form(tmp_path, monkeypatch):
    package = tmp_path / "mysite" / "custom_private_config"
    package.mkdir(parents=True)
    (tmp_path / "mysite" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    write_private(package, "ib_idoffset: 1000\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(configdata.PRIVATE_DIR_ENV, "mysite.custom_private_config")
    assert load_config().ib_idoffset == 1000


def test_bad_env_relocation_is_reported(monkeypatch):
    monkeypatch.setenv(configdata.PRIVATE_DIR_ENV, "/no/such/folder")
    with pytest.raises(ConfigError, match=configdata.PRIVATE_DIR_ENV):
        load_config()
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(private_dir="/no/such/folder")


def test_pysystemtrade_keys_pass_through(tmp_path):
    write_private(tmp_path, "email_address: me@example.com\nparquet_store: /data/parquet\nib_idoffset: 1\n")
    config = load_config(private_dir=tmp_path)
    assert config.get_element("email_address") == "me@example.com"
    assert config["parquet_store"] == "/data/parquet"


# key (as reported), 1-based line or None, YAML text of private_config.yaml
BAD_CONFIGS = [
    ("ib_prot", 2, "ib_port: 4002\nib_prot: 4002\n"),
    ("ib_port", 1, 'ib_port: "4002"\n'),
    ("ib_port", 1, "ib_port: -1\n"),
    ("ib_port", 1, "ib_port: 70000\n"),
    ("ib_port", 1, "ib_port: true\n"),
    ("ib_ipaddress", 1, "ib_ipaddress: 300.1.2.3\n"),
    ("ib_ipaddress", 1, "ib_ipaddress: bad host!\n"),
    ("ib_idoffset", 1, "ib_idoffset: 1.5\n"),
    ("ib_readonly", 1, "ib_readonly: 1\n"),
    ("ib_connect_timeout", 1, "ib_connect_timeout: 0\n"),
    ("ib_gateway", 1, "ib_gateway: docker\n"),
    ("mongo_port", 1, "mongo_port: 0\n"),
    ("mongo_port", 1, "mongo_port: 65536\n"),
    ("mongo_host", 1, "mongo_host: http://db.example.net\n"),
    ("mongo_db", 1, "mongo_db: my.db\n"),
    ("price_store", 1, "price_store: ftp://prices\n"),
    ("price_store", 1, "price_store: /just/a/path\n"),
    ("log_level", 1, "log_level: LOUD\n"),
    ("broker_account", 1, "broker_account: 1234\n"),
    ("ib_reconnect.max_delay", 3, "ib_reconnect:\n  initial_delay: 10\n  max_delay: 5\n"),
    ("ib_reconnect.jitter", 2, "ib_reconnect:\n  jitter: 1.5\n"),
    ("ib_reconnect.backoff", 2, "ib_reconnect:\n  backoff: 2\n"),
    ("ib_reconnect", 1, "ib_reconnect: 5\n"),
    (
        "ib_reset_windows[0].tz",
        2,
        'ib_reset_windows:\n  - {region: x, start: "00:15", end: "01:45", tz: Mars/Olympus, days: [Mon]}\n',
    ),
    (
        "ib_reset_windows[1].start",
        3,
        'ib_reset_windows:\n  - {region: a, start: "00:15", end: "01:45", tz: UTC, days: [Mon]}\n'
        '  - {region: b, start: "25:00", end: "01:45", tz: UTC, days: [Mon]}\n',
    ),
    (
        "ib_reset_windows[0].end",
        2,
        "ib_reset_windows:\n  - {region: a, start: '01:00', end: 0100, tz: UTC, days: [Mon]}\n",
    ),
    (
        "ib_reset_windows[0].days",
        2,
        "ib_reset_windows:\n  - {region: a, start: '01:00', end: '02:00', tz: UTC, days: [Funday]}\n",
    ),
    ("client_id_heartbeat_seconds", 1, "client_id_heartbeat_seconds: 90\n"),
    ("ib_port", 2, "ib_port: 4001\nib_port: 4002\n"),  # duplicate key
]


@pytest.mark.parametrize(
    ("key", "line", "text"), BAD_CONFIGS, ids=[f"{i}-{case[0]}" for i, case in enumerate(BAD_CONFIGS)]
)
def test_bad_config_names_file_key_and_line(tmp_path, key, line, text):
    path = write_private(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(private_dir=tmp_path)
    error = caught.value
    assert (error.source, error.key, error.line) == (str(path), key, line)
    message = str(error)
    assert f"{path}:{line}:" in message and f"'{key}'" in message


def test_bad_time_is_rejected_even_if_quoted(tmp_path):
    # the ib_reset_windows[0].end case above is an unquoted number; here a quoted bad time
    write_private(tmp_path, "ib_reset_windows:\n  - {region: a, start: '1:00', end: '02:00', tz: UTC, days: [Mon]}\n")
    with pytest.raises(ConfigError, match=r"HH:MM"):
        load_config(private_dir=tmp_path)


def test_unknown_key_suggests_the_right_one(tmp_path):
    write_private(tmp_path, "ib_prot: 4002\n")
    with pytest.raises(ConfigError, match="did you mean 'ib_port'"):
        load_config(private_dir=tmp_path)


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("- ib_port\n- 4001\n", 1, "expected a mapping"),
        ("just a string\n", 1, "expected a mapping"),
        ("ib_port: 4001\nib_reconnect: [1, 2\n", 3, "invalid YAML"),
        ("ib_port: 4001\n  bad_indent: 2\n", 2, "invalid YAML"),
    ],
)
def test_unparseable_or_non_mapping_file(tmp_path, text, line, problem):
    path = write_private(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(private_dir=tmp_path)
    assert (caught.value.source, caught.value.line) == (str(path), line)
    assert str(caught.value).startswith(f"{path}:{line}:") and problem in str(caught.value)


def test_bad_override_names_overrides_and_key(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(private_dir=tmp_path, overrides={"ib_port": 0})
    assert (caught.value.source, caught.value.key) == ("<overrides>", "ib_port")
    assert "<overrides>: key 'ib_port': expected a TCP port between 1 and 65535, got 0" == str(caught.value)


def test_empty_private_file_means_defaults(tmp_path):
    write_private(tmp_path, "# nothing yet\n")
    config = load_config(private_dir=tmp_path)
    assert config.ib_port == 4001 and config.ib_gateway == "external"


def test_example_private_config_documents_and_validates_every_key(tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "private_config.yaml")
    load_config(private_dir=tmp_path)  # must validate as shipped
    text = EXAMPLE.read_text()
    documented = set(yaml.safe_load(text)) | set(re.findall(r"^#\s?(\w+):", text, re.MULTILINE))
    assert set(KEY_CHECKERS) <= documented
    docs = (REPO_ROOT / "docs" / "configuration.md").read_text()
    assert all(f"`{key}`" in docs for key in KEY_CHECKERS)


def test_reset_window_contains_handles_midnight_and_days(tmp_path):
    config = load_config(private_dir=tmp_path)
    windows = {w.region: w for w in config.ib_reset_windows}
    new_york = windows["north_america"]
    # Tue 2026-11-24 00:30 New York = 05:30 UTC (EST)
    assert new_york.contains(dt.datetime(2026, 11, 24, 5, 30, tzinfo=dt.UTC))
    assert not new_york.contains(dt.datetime(2026, 11, 24, 7, 0, tzinfo=dt.UTC))
    weekend = windows["north_america_weekend"]  # Fri 23:00 -> Sat 03:00 New York
    assert weekend.contains(dt.datetime(2026, 11, 28, 6, 0, tzinfo=dt.UTC))  # Sat 01:00 NY
    assert not weekend.contains(dt.datetime(2026, 11, 29, 6, 0, tzinfo=dt.UTC))  # Sun 01:00 NY


def test_reconnect_delays_grow_and_cap(tmp_path):
    import random

    policy = ReconnectPolicy(initial_delay=5, max_delay=60, multiplier=2, jitter=0.0, max_attempts=None)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5, 6)] == [5, 10, 20, 40, 60, 60]
    jittered = ReconnectPolicy(5, 60, 2, 0.2, None)
    delays = [jittered.delay(2, random.Random(seed)) for seed in range(50)]
    assert all(8 <= d <= 12 for d in delays) and len(set(delays)) > 1
