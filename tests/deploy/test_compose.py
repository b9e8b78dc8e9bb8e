"""deploy/compose.yaml and deploy/.env.example: structure, health checks, configuration, secrets.

No docker needed: the file is read with PyYAML and compose's ${VAR} substitution is applied by
tests/deploy/compose_support.py; every project service's environment is then loaded by the real
configuration loader, exactly as the process in the container would load it.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
import zoneinfo

import pytest

from sysdata.config.configdata import ENV_PREFIX, RESERVED_ENV_VARS, ConfigError, env_variable_for, load_config
from sysdata.config.schema import KEY_CHECKERS, PYSYSTEMTRADE_PASSTHROUGH_KEYS
from sysproduction.schedule import next_run
from tests.deploy.compose_support import (
    COMPOSE_FILE,
    DEPLOY,
    DOCKERFILE,
    PROJECT_SERVICES,
    REPO_ROOT,
    SECRETS,
    MissingVariable,
    environment_of,
    example_variables,
    interpolate,
    load_compose,
    read_env_file,
    references,
    resolved_environment,
)

KNOWN_VARIABLES = {env_variable_for(k) for k in [*KEY_CHECKERS, *PYSYSTEMTRADE_PASSTHROUGH_KEYS]}


@pytest.fixture(scope="module")
def compose():
    return load_compose()


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


def command_of(service, variables=None) -> list[str]:
    return [interpolate(str(part), variables or example_variables()) for part in service.get("command", [])]


def healthcheck_url(service) -> urllib.parse.SplitResult:
    test = service["healthcheck"]["test"]
    assert test[0] == "CMD", f"healthcheck must be an exec-form CMD list, got {test!r}"
    [url] = [part for part in test if str(part).startswith("http")]
    return urllib.parse.urlsplit(url)


def test_the_stack_has_its_services(services):
    assert {"ib-gateway", "mongo", *PROJECT_SERVICES} <= set(services)


def test_gateway_is_run_by_ibc_from_the_gnzsnz_image(services):
    gateway = services["ib-gateway"]
    image = interpolate(gateway["image"], {})
    assert image.startswith("ghcr.io/gnzsnz/ib-gateway:")
    env = environment_of(gateway)
    for name in ("TWS_USERID", "TWS_PASSWORD"):
        assert re.fullmatch(r"\$\{" + name + r":\?[^}]+\}", env[name]), f"{name} must be required from .env"
    resolved = resolved_environment(gateway, example_variables())
    assert resolved["TRADING_MODE"] in ("paper", "live")
    assert resolved["TWOFA_TIMEOUT_ACTION"] == "restart"  # IBC's advice when AUTO_RESTART_TIME is set
    assert resolved["EXISTING_SESSION_DETECTED_ACTION"] == "primary"
    assert re.fullmatch(r"(0?[1-9]|1[0-2]):[0-5]\d [AP]M", resolved["AUTO_RESTART_TIME"])
    zoneinfo.ZoneInfo(resolved["TIME_ZONE"])
    assert resolved["TZ"] == resolved["TIME_ZONE"]
    assert int(resolved["JAVA_HEAP_SIZE"]) >= 768
    # settings (and the autorestart file) survive a container re-creation
    settings = resolved["TWS_SETTINGS_PATH"]
    assert any(str(v).endswith(":" + settings) for v in gateway["volumes"])


def test_the_api_port_follows_the_trading_mode():
    example = read_env_file()
    expected = {"paper": "4004", "live": "4003"}[example["TRADING_MODE"]]
    assert example["IB_API_PORT"] == expected


def test_every_service_has_a_health_check(services):
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"
        assert "start_period" in check and "timeout" in check, name


def test_project_health_checks_ask_ready_on_the_process_port(services, tmp_path):
    variables = example_variables()
    for name in PROJECT_SERVICES:
        service = services[name]
        url = healthcheck_url(service)
        assert url.path == "/ready", name
        assert url.hostname == "127.0.0.1", name  # runs inside the container
        assert service["healthcheck"]["test"][1:3] == ["python", "/opt/ibfutures/healthcheck.py"]
        env = resolved_environment(service, variables)
        config = load_config(private_dir=tmp_path, environ=env)
        command = command_of(service)
        if name == "market-data-service":
            port = config.market_data_service_port
        elif "--ops-port" in command:
            port = int(command[command.index("--ops-port") + 1])
        else:
            port = config.ops_http_port
        assert port and url.port == port, f"{name}: healthcheck on {url.port}, process serves {port}"


def test_gateway_health_check_probes_the_api_port(services):
    test = " ".join(services["ib-gateway"]["healthcheck"]["test"])
    port = interpolate(test, example_variables())
    assert f"/dev/tcp/127.0.0.1/{read_env_file()['IB_API_PORT']}" in port


def test_project_services_wait_for_a_healthy_gateway_and_mongo(services):
    for name in PROJECT_SERVICES:
        depends = services[name]["depends_on"]
        for needed in ("ib-gateway", "mongo"):
            assert depends[needed]["condition"] == "service_healthy", f"{name} -> {needed}"


def test_project_services_run_the_project_image_with_a_known_command(services):
    entry_commands = set(re.findall(r"^\s{4}([a-z-]+)\)\s", (DEPLOY / "entrypoint.sh").read_text(), re.M))
    for name in PROJECT_SERVICES:
        service = services[name]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (COMPOSE_FILE.parent / service["build"]["context"]).resolve() == REPO_ROOT
        assert service.get("init") is True, f"{name}: signals need an init process"
        assert command_of(service)[0] in entry_commands, name


def test_every_ibfutures_variable_is_a_configuration_key(services):
    seen = set()
    for name, service in services.items():
        for variable in environment_of(service):
            if variable.startswith(ENV_PREFIX):
                seen.add(variable)
                assert variable in KNOWN_VARIABLES, f"{name}: {variable} names no configuration key"
                assert variable not in RESERVED_ENV_VARS
    for variable in read_env_file():
        if variable.startswith(ENV_PREFIX):
            seen.add(variable)
            assert variable in KNOWN_VARIABLES, f".env.example: {variable} names no configuration key"
    for variable in re.findall(r"\b(IBFUTURES_[A-Z0-9_]+)=", DOCKERFILE.read_text()):
        seen.add(variable)
        assert variable in KNOWN_VARIABLES, f"Dockerfile: {variable} names no configuration key"
    assert len(seen) >= 10  # the scan found the variables at all


def test_example_values_validate_one_by_one(tmp_path):
    for variable, value in read_env_file().items():
        if variable.startswith(ENV_PREFIX):
            load_config(private_dir=tmp_path, environ={variable: value})  # raises ConfigError if bad


def test_each_project_service_configuration_loads(services, tmp_path):
    variables = example_variables()
    configs = {}
    for name in PROJECT_SERVICES:
        env = resolved_environment(services[name], variables)
        configs[name] = config = load_config(private_dir=tmp_path, environ=env)
        assert config.ib_gateway == "external", f"{name} would start the simulator"
        assert (config.ib_ipaddress, config.ib_port) == ("ib-gateway", int(variables["IB_API_PORT"]))
        assert config.ib_pacing_scale == 1.0  # IB's own pacing against a real gateway
        mongo = urllib.parse.urlsplit(config.mongo_host)
        assert (mongo.scheme, mongo.hostname, mongo.port) == ("mongodb", "mongo", 27017)
        assert config.data_folder == "/data" and config.price_store == "parquet:///data/prices"
        assert config.log_format == "json"
    service = configs["market-data-service"]
    assert service.market_data_service_host == "0.0.0.0" and service.market_data_service_token
    assert configs["market-data-service"].ib_readonly and configs["price-update"].ib_readonly
    assert not configs["stack-handler"].ib_readonly


def test_a_bad_value_in_deploy_env_is_reported_with_its_variable(services, tmp_path):
    variables = {**example_variables(), "IB_API_PORT": "40o4"}
    env = resolved_environment(services["price-update"], variables)
    with pytest.raises(ConfigError, match="IBFUTURES_IB_PORT: key 'ib_port'"):
        load_config(private_dir=tmp_path, environ=env)


def test_missing_secrets_stop_compose(services):
    example = read_env_file()
    for secret in ("TWS_PASSWORD", "MONGO_PASSWORD", "MDS_TOKEN"):
        assert example[secret] == ""
    refused = set()
    for service in services.values():
        for value in environment_of(service).values():
            try:
                interpolate(value, example)
            except MissingVariable as missing:
                refused.add(missing.name)
    assert {"TWS_USERID", "TWS_PASSWORD", "MONGO_PASSWORD", "MDS_TOKEN"} <= refused


def test_no_secret_is_written_in_the_repository(services):
    secret_like = re.compile(r"PASSWORD|TOKEN|SECRET|PASSPHRASE", re.I)
    for name, service in services.items():
        for variable, value in environment_of(service).items():
            if secret_like.search(variable):
                assert re.fullmatch(r"\$\{[A-Z_]+(:\?[^}]*|:-)?\}", value), f"{name}: {variable} is not a ${{VAR}}"
            for ref in references(value):
                if secret_like.search(ref):
                    assert not re.search(r"\$\{" + ref + r":?-[^}]", value), f"{name}: default for {ref}"
    example = read_env_file()
    for variable, value in example.items():
        if secret_like.search(variable):
            assert value == "", f".env.example: {variable} must be empty"
    assert set(SECRETS) <= set(example)
    # the Mongo URL carries the password only as a reference
    url = environment_of(services["market-data-service"])["IBFUTURES_MONGO_HOST"]
    assert "${MONGO_PASSWORD:?" in url
    ignored = (REPO_ROOT / ".gitignore").read_text().split()
    assert "deploy/.env" in ignored


def test_published_ports_are_on_loopback(services):
    for name, service in services.items():
        for port in service.get("ports", []):
            text = port if isinstance(port, str) else f"{port.get('host_ip', '')}:{port.get('published')}"
            assert text.startswith("127.0.0.1:"), f"{name}: {port!r} is published beyond the host's loopback"
    mds_ports = services["market-data-service"]["ports"]
    assert [interpolate(p, example_variables()) for p in mds_ports] == ["127.0.0.1:8765:8765"]
    assert "ports" not in services["mongo"]  # reachable from the compose network only


def test_volumes_keep_prices_metadata_and_gateway_settings(compose, services):
    assert {"ibfutures-data", "mongo-data"} <= set(compose["volumes"])
    assert "mongo-data:/data/db" in services["mongo"]["volumes"]
    for name in PROJECT_SERVICES:
        assert "ibfutures-data:/data" in services[name]["volumes"], name


def test_stack_handler_places_orders_only_when_asked_for(services):
    assert services["stack-handler"].get("profiles") == ["orders"]
    for name in ("ib-gateway", "mongo", "market-data-service", "price-update"):
        assert "profiles" not in services[name], name


def test_price_update_runs_outside_reset_windows_and_the_gateway_restart(services, tmp_path):
    variables = example_variables()
    command = command_of(services["price-update"], variables)
    at = dt.time.fromisoformat(command[command.index("--at") + 1])
    tz = command[command.index("--tz") + 1]
    days = command[command.index("--days") + 1].split(",")
    assert command[command.index("--") + 1 :] == ["python", "-m", "sysproduction.update_historical_prices"]
    config = load_config(private_dir=tmp_path, environ={})
    restart = dt.datetime.strptime(variables["AUTO_RESTART_TIME"], "%I:%M %p").time()
    gateway_zone = zoneinfo.ZoneInfo(variables["TIME_ZONE"])
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for _ in range(30):  # a month of runs, across weekdays
        moment = next_run(moment, at, tz, days)
        assert not any(w.contains(moment) for w in config.ib_reset_windows), moment
        local = moment.astimezone(gateway_zone)
        restart_at = dt.datetime.combine(local.date(), restart, tzinfo=gateway_zone)
        gap = min(
            abs((local - restart_at + delta).total_seconds()) for delta in (dt.timedelta(days=d) for d in (-1, 0, 1))
        )
        assert gap >= 3 * 3600, f"run at {local} is within 3 h of the gateway restart"
