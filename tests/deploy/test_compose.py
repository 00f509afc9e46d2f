"""deploy/compose.yaml: valid against the Compose Specification's schema, and coherent:
three replicas behind the balancer, health-checked, in order, with configs that load."""

from __future__ import annotations

import ipaddress
import json
import re
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.support import DEPLOY, check_config, env_refs

COMPOSE = DEPLOY / "compose.yaml"
# ${NAME}, ${NAME:-default}, ${NAME-default}: Compose's interpolation
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _schema() -> dict[str, Any]:
    # the compose-spec JSON schema, as check-jsonschema vendors it
    text = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema: dict[str, Any] = json.loads(text.read_text())
    return schema


def _interpolate(value: str) -> str:
    """What Compose makes of a value with nothing set in the shell: the defaults."""
    def default(match: re.Match[str]) -> str:
        if match.group(2) is None:
            raise AssertionError(f"{match.group(0)} has no default: `compose up` would fail")
        return match.group(2)
    return _INTERPOLATION.sub(default, value)


def _mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    return [tuple(v.split(":")[:2]) for v in service.get("volumes", [])]  # type: ignore[misc]


def test_compose_file_matches_the_compose_spec_schema() -> None:
    validator = jsonschema.Draft202012Validator(_schema())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(_compose())]
    assert errors == []


def test_the_schema_check_catches_a_broken_file() -> None:
    broken = _compose()
    broken["services"]["gateway"]["depends_on"]["redis"]["condition"] = "service_ready"
    broken["services"]["lb"]["helthcheck"] = {}
    validator = jsonschema.Draft202012Validator(_schema())
    assert len(list(validator.iter_errors(broken))) >= 2


def test_the_multi_replica_topology() -> None:
    services = _compose()["services"]
    assert set(services) >= {"redis", "erp", "gateway", "lb"}
    assert services["gateway"]["deploy"]["replicas"] == 3
    assert services["erp"]["command"][0] == "demo-erp"
    assert "0.0.0.0" in services["erp"]["command"]
    assert services["gateway"]["command"][:3] == ["serve", "--config",
                                                  "/etc/erp-gateway/gateway.toml"]
    assert services["lb"]["image"].startswith("haproxy:")
    # only the balancer is published, and on loopback
    assert [s for s, d in services.items() if d.get("ports")] == ["lb"]
    assert all(p.startswith("127.0.0.1:") for p in services["lb"]["ports"])


def test_services_are_health_checked_and_started_in_order() -> None:
    services = _compose()["services"]
    for name in ("redis", "erp", "gateway"):
        assert services[name]["healthcheck"]["test"][0] == "CMD", name
    assert "/healthz" in " ".join(services["gateway"]["healthcheck"]["test"])
    depends = services["gateway"]["depends_on"]
    assert depends["redis"]["condition"] == depends["erp"]["condition"] == "service_healthy"
    assert depends["keygen"]["condition"] == "service_completed_successfully"
    assert services["lb"]["depends_on"]["gateway"]["condition"] == "service_healthy"
    # the drain must fit before compose's SIGKILL
    assert int(services["gateway"]["stop_grace_period"].rstrip("s")) >= 30


def test_every_mounted_file_exists() -> None:
    for name, service in _compose()["services"].items():
        for source, _ in _mounts(service):
            if source.startswith("."):
                assert (COMPOSE.parent / source).is_file(), f"{name}: {source}"


def _gateway_config() -> Path:
    mounts = dict(_mounts(_compose()["services"]["gateway"]))
    source = next(s for s, target in mounts.items() if target == "/etc/erp-gateway/gateway.toml")
    return COMPOSE.parent / source


def test_the_gateway_config_is_valid_with_the_environment_compose_gives() -> None:
    gateway = _compose()["services"]["gateway"]
    env = {k: _interpolate(v) for k, v in gateway["environment"].items()}
    config = _gateway_config()
    assert env_refs(config.read_text()) <= set(env), "a ${NAME} compose does not set"
    done = check_config(config, env)
    assert done.returncode == 0, done.stderr
    missing = check_config(config, {})
    assert missing.returncode == 1 and "REDIS_PASSWORD is not set" in missing.stderr


def test_the_config_fits_the_topology() -> None:
    compose = _compose()
    services = compose["services"]
    config = tomllib.loads(_gateway_config().read_text())
    # each process's share without Redis: hosts x workers
    assert config["ratelimit"]["replicas"] == (services["gateway"]["deploy"]["replicas"]
                                               * config["server"]["workers"])
    assert config["redis"]["url"].split("@")[1].startswith("redis:")
    assert config["erp"] == {"kind": "http-demo", "url": "http://erp:8100"}
    assert "8100" in services["erp"]["command"]
    # the signing key the config reads is the one keygen writes
    key_dir = str(Path(config["auth"]["signing_keys"][0]["private_key_path"]).parent)
    assert (("signing-key", key_dir) in _mounts(services["gateway"])
            and ("signing-key", key_dir) in _mounts(services["keygen"]))
    # the balancer's fixed address is what the gateways trust, and inside the network
    lb_address = services["lb"]["networks"]["backend"]["ipv4_address"]
    assert config["proxies"]["trusted"] == [lb_address]
    ipam = compose["networks"]["backend"]["ipam"]["config"][0]
    subnet = ipaddress.ip_network(ipam["subnet"])
    dynamic = ipaddress.ip_network(ipam["ip_range"])
    assert ipaddress.ip_address(lb_address) in subnet
    assert ipaddress.ip_address(lb_address) not in dynamic  # no replica can take it


@pytest.mark.parametrize("line", ["option forwardfor", "option httpchk GET /readyz",
                                  "http-request set-header X-Forwarded-Proto http",
                                  "server-template gateway 10 gateway:8080"])
def test_the_balancer_forwards_the_client_and_checks_readiness(line: str) -> None:
    text = (DEPLOY / "haproxy.cfg").read_text()
    assert line in [x.strip() for x in text.splitlines()]
