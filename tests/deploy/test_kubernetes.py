"""deploy/kubernetes: every manifest valid against the Kubernetes schemas (offline, strict),
and the pieces agree: probes, selectors, the autoscaler's floor, secrets, the drain."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from policies.auth.hashing import hash_api_key, hash_secret
from tests.deploy.support import DEPLOY, check_config, env_refs

MANIFESTS = DEPLOY / "kubernetes"
# the oldest Kubernetes still commonly run, and the newest the schemas know
VERSIONS = ["1.29.0", kubernetes_validate.latest_version()]


def _load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((MANIFESTS / name).read_text())
    return doc


def _resources() -> dict[str, dict[str, Any]]:
    """kind -> resource, for every file the kustomization lists."""
    kustomization = _load("kustomization.yaml")
    out = {}
    for name in kustomization["resources"]:
        doc = _load(name)
        out[doc["kind"]] = doc
    return out


def test_the_kustomization_lists_every_manifest() -> None:
    listed = set(_load("kustomization.yaml")["resources"])
    present = {p.name for p in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present
    assert set(_resources()) == {"ConfigMap", "Deployment", "Service", "PodDisruptionBudget",
                                 "HorizontalPodAutoscaler"}


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_valid_against_the_schemas(version: str) -> None:
    for kind, resource in _resources().items():
        assert kubernetes_validate.validate(resource, version, strict=True) is not None, kind


def test_the_schema_check_catches_a_broken_manifest() -> None:
    broken = copy.deepcopy(_resources()["Deployment"])
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["pth"] = "/"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)
    broken = copy.deepcopy(_resources()["Deployment"])
    broken["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def _pod() -> dict[str, Any]:
    spec: dict[str, Any] = _resources()["Deployment"]["spec"]["template"]["spec"]
    return spec


def _container() -> dict[str, Any]:
    container: dict[str, Any] = _pod()["containers"][0]
    return container


def test_probes_readiness_on_readyz_and_liveness_on_healthz() -> None:
    container = _container()
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    # /readyz checks the ERP with a 2 s budget: the probe must wait longer than that
    assert container["readinessProbe"]["timeoutSeconds"] > 2
    config = _settings_toml()
    assert ports["http"] == config["server"]["port"]
    assert container["args"] == ["serve", "--config", "/etc/erp-gateway/gateway.toml"]


def test_the_grace_period_covers_the_drain() -> None:
    from gateway.settings import ServerSettings

    pod, container = _pod(), _container()
    server = ServerSettings.model_validate(_settings_toml()["server"])
    probe = container["readinessProbe"]
    # the drain keeps serving while /readyz says 503, at least until the probe notices
    removed_after = probe["periodSeconds"] * probe["failureThreshold"]
    # the drain settings' planned defaults (5 s and 30 s) until [server] has them
    drain = float(getattr(server, "drain_seconds", 5))
    graceful = float(getattr(server, "graceful_timeout_seconds", 30))
    assert drain > removed_after
    assert pod["terminationGracePeriodSeconds"] > drain + graceful
    # the drain is the process's own: no preStop sleep stacked on top of it
    assert "lifecycle" not in container


def test_resources_and_a_locked_down_container() -> None:
    container = _container()
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
    assert _pod()["securityContext"]["runAsNonRoot"] is True
    assert _pod()["securityContext"]["runAsUser"] == 10001  # the Dockerfile's USER
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_selectors_and_targets_agree() -> None:
    resources = _resources()
    deployment = resources["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    assert resources["Service"]["spec"]["selector"].items() <= labels.items()
    assert resources["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == selector
    assert resources["Service"]["spec"]["ports"][0]["targetPort"] == "http"
    target = resources["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])


def test_the_autoscaler_floor_is_the_rate_limit_share() -> None:
    hpa = _resources()["HorizontalPodAutoscaler"]["spec"]
    config = _settings_toml()
    assert config["ratelimit"]["replicas"] == hpa["minReplicas"] * config["server"]["workers"]
    assert hpa["maxReplicas"] > hpa["minReplicas"]
    # one pod at a time may go: with the floor at 3, two always serve
    assert _resources()["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1


def _settings_text() -> str:
    data: dict[str, str] = _resources()["ConfigMap"]["data"]
    return data["gateway.toml"]


def _settings_toml() -> dict[str, Any]:
    return tomllib.loads(_settings_text())


def test_the_config_map_is_what_the_pod_mounts() -> None:
    volumes = {v["name"]: v for v in _pod()["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in _container()["volumeMounts"]}
    config_volume = volumes[mounts["/etc/erp-gateway"]]
    assert config_volume["configMap"]["name"] == _resources()["ConfigMap"]["metadata"]["name"]
    # the signing key file lies in the mounted Secret
    key_path = Path(_settings_toml()["auth"]["signing_keys"][0]["private_key_path"])
    assert "secret" in volumes[mounts[str(key_path.parent)]]


def test_every_secret_the_config_names_comes_from_a_secret_reference() -> None:
    env = {e["name"]: e for e in _container()["env"]}
    refs = env_refs(_settings_text())
    assert refs, "the config takes its secrets from the environment"
    for name in refs:
        assert "secretKeyRef" in env[name]["valueFrom"], name
    assert not any("value" in e for e in env.values()), "no secret written in the manifest"


def test_the_config_map_passes_check_config(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(_settings_text())
    # plausible values in each secret's shape (hashes must parse)
    values = {name: "secret-value" for name in env_refs(_settings_text())}
    values.update(STOREFRONT_API_KEY_HASH=hash_api_key("a-storefront-key"),
                  WAREHOUSE_SECRET_HASH=hash_secret("a-warehouse-secret"))
    done = check_config(config, values)
    assert done.returncode == 0, done.stderr
    values["STOREFRONT_API_KEY_HASH"] = "not-a-hash"
    refused = check_config(config, values)
    assert refused.returncode == 1 and "auth.clients[0].api_key_hashes" in refused.stderr
