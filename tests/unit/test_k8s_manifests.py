"""The Kubernetes manifests (``deploy/k8s``) build, validate, and agree with the code they run.

``kustomize build`` of each overlay goes through ``kubeconform -strict`` (tools built from the Go
module proxy, schemas from PyPI: :mod:`winback_local.k8s_check`); then the objects are checked
against the workspace: modules that exist, probes on the endpoints the services serve, settings
the services read, the router's autoscaler capped at the partition count, and every pod locked
down as the ``restricted`` Pod Security profile asks.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from winback_ingest.settings import IngestSettings
from winback_local import k8s_check
from winback_notifier.outbound.settings import OutboundSettings
from winback_notifier.settings import NotifierSettings
from winback_router.settings import RouterSettings
from winback_shared.serve import address_variables

Objects = list[dict[str, Any]]

pytestmark = pytest.mark.timeout(func_only=True)
"""The suite's timeout guards each test's body, not the ``tools`` fixture: its first use builds
kustomize and kubeconform from source (a fresh checkout, on a loaded machine: minutes), which
``k8s_check`` bounds itself (600 s per command). Counted against the first test, the build was
killed at 120 s and every test of the module errored with it."""

SERVICE_SETTINGS = {
    "winback_ingest": IngestSettings,
    "winback_router": RouterSettings,
    "winback_router.refine": RouterSettings,
    "winback_notifier": NotifierSettings,
    "winback_notifier.outbound": OutboundSettings,
}
PORTS = {
    "winback_ingest": 8000,
    "winback_router": 8001,
    "winback_notifier": 8002,
    "winback_router.refine": 8003,
    "winback_notifier.outbound": 8004,
}
SERVICE_NAMES = ("ingest", "router", "notifier", "refiner", "outbound")
"""Whose ``WINBACK_<NAME>_HOST``/``_PORT`` the services read (winback_shared.serve)."""


@pytest.fixture(scope="module")
def tools() -> k8s_check.Tools:
    if shutil.which("go") is None:
        message = "go missing: the manifest check builds kustomize and kubeconform with it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return k8s_check.install_tools()


@pytest.fixture(scope="module", params=k8s_check.OVERLAYS)
def built(request: pytest.FixtureRequest, tools: k8s_check.Tools) -> tuple[str, str]:
    overlay: str = request.param
    return overlay, k8s_check.build(tools, overlay)


def objects(manifests: str) -> Objects:
    return [doc for doc in yaml.safe_load_all(manifests) if doc]


def by_kind(items: Objects, kind: str) -> Iterator[dict[str, Any]]:
    return (item for item in items if item["kind"] == kind)


def pod_specs(items: Objects) -> Iterator[tuple[str, dict[str, Any]]]:
    for item in items:
        if item["kind"] in ("Deployment", "Job"):
            yield item["metadata"]["name"], item["spec"]["template"]["spec"]


def service_module(container: dict[str, Any]) -> str:
    command = container["command"]
    assert command[:2] == ["python", "-m"], command
    return str(command[2])


def test_every_overlay_is_valid_for_kubeconform(
    tools: k8s_check.Tools, built: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    overlay, manifests = built
    version = k8s_check.DEFAULT_KUBERNETES_VERSION
    schemas = k8s_check.standalone_schemas(
        manifests, version, tmp_path_factory.mktemp("k8s-schemas")
    )
    crds = k8s_check.crd_schemas(tmp_path_factory.mktemp("crd-schemas"))
    passed, report = k8s_check.validate(tools, manifests, version, schemas, crds)
    assert passed, f"{overlay}:\n{report}"
    assert "Skipped: 0" in report


def test_kubeconform_refuses_an_unknown_field(
    tools: k8s_check.Tools, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The check can fail: a typo in a Deployment and in the ScaledObject are both caught."""
    items = objects(k8s_check.build(tools, "base"))
    for item in items:
        if item["kind"] == "Deployment":
            item["spec"]["replica"] = 2
        if item["kind"] == "ScaledObject":
            item["spec"]["maxReplicas"] = 6
    manifests = yaml.safe_dump_all(items)
    version = k8s_check.DEFAULT_KUBERNETES_VERSION
    schemas = k8s_check.standalone_schemas(manifests, version, tmp_path_factory.mktemp("s"))
    crds = k8s_check.crd_schemas(tmp_path_factory.mktemp("c"))
    passed, report = k8s_check.validate(tools, manifests, version, schemas, crds)
    assert not passed
    assert "Deployment winback-router" in report and "replica" in report
    assert "ScaledObject winback-router" in report and "maxReplicas" in report


def test_containers_run_modules_that_exist_and_probe_served_endpoints(
    built: tuple[str, str],
) -> None:
    _, manifests = built
    for name, spec in pod_specs(objects(manifests)):
        for container in spec.get("initContainers", []) + spec["containers"]:
            module = service_module(container)
            assert importlib.util.find_spec(module) is not None, (name, module)
            if module not in PORTS:
                continue
            assert container["ports"] == [{"name": "http", "containerPort": PORTS[module]}]
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            resources = container["resources"]
            assert resources["requests"]["cpu"] and resources["requests"]["memory"]
            assert resources["limits"]["memory"]


def test_services_wait_for_the_migration_job_with_their_own_database_login(
    built: tuple[str, str],
) -> None:
    _, manifests = built
    specs = dict(pod_specs(objects(manifests)))
    job = specs["winback-migrate"]["containers"][0]
    assert service_module(job) == "winback_shared.migrations"
    assert "--wait" not in job["command"]
    logins = {
        "winback-router": "router",
        "winback-refiner": "router",
        "winback-notifier": "notifier",
    }
    for name, login in logins.items():
        (init,) = specs[name]["initContainers"]
        assert init["command"][2:4] == ["winback_shared.migrations", "--wait"]
        url_secret = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in init["env"]}
        main_env = {e["name"]: e.get("valueFrom") for e in specs[name]["containers"][0]["env"]}
        assert url_secret["DATABASE_URL"] == main_env["DATABASE_URL"]["secretKeyRef"]
        assert url_secret["DATABASE_URL"]["key"] == f"{login}-url"
    ingest_env = {e["name"] for e in specs["winback-ingest"]["containers"][0]["env"]}
    assert "DATABASE_URL" not in ingest_env, "ingest never connects to PostgreSQL"


def test_every_setting_given_is_one_a_service_reads(built: tuple[str, str]) -> None:
    """A misspelt variable would be ignored silently by the settings classes."""
    _, manifests = built
    items = objects(manifests)
    (config,) = by_kind(items, "ConfigMap")
    for name, spec in pod_specs(items):
        container = spec["containers"][0]
        module = service_module(container)
        if module not in SERVICE_SETTINGS:
            continue
        given = set(config["data"]) | {e["name"] for e in container.get("env", [])}
        known = setting_variables(SERVICE_SETTINGS[module]) | {
            variable for service in SERVICE_NAMES for variable in address_variables(service)
        }
        assert given <= known, (name, given - known)


def setting_variables(settings: type[Any]) -> set[str]:
    """Every environment variable a settings class reads (its prefix, aliases, nested)."""
    prefix = settings.model_config.get("env_prefix", "")
    names: set[str] = set()
    for field_name, field in settings.model_fields.items():
        alias = field.validation_alias
        if alias is not None and hasattr(alias, "choices"):
            names.update(str(choice) for choice in alias.choices)
        names.add(f"{prefix}{field_name}".upper())
    return names


def test_router_autoscaling_is_capped_at_the_partition_count(built: tuple[str, str]) -> None:
    _, manifests = built
    items = objects(manifests)
    (config,) = by_kind(items, "ConfigMap")
    (scaler,) = by_kind(items, "ScaledObject")
    (trigger,) = scaler["spec"]["triggers"]
    assert scaler["spec"]["maxReplicaCount"] == int(config["data"]["WINBACK_TOPIC_PARTITIONS"])
    assert trigger["metadata"]["consumerGroup"] == RouterSettings().router_group
    assert trigger["metadata"]["topic"] == RouterSettings().topics.survey_responses
    assert trigger["metadata"]["bootstrapServers"] == config["data"]["KAFKA_BOOTSTRAP_SERVERS"]


def test_every_pod_is_locked_down(built: tuple[str, str]) -> None:
    _, manifests = built
    for name, spec in pod_specs(objects(manifests)):
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for container in spec.get("initContainers", []) + spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, (name, container["name"])
            assert context["allowPrivilegeEscalation"] is False, (name, container["name"])
            assert context["capabilities"] == {"drop": ["ALL"]}, (name, container["name"])


def test_every_workload_has_a_disruption_budget(built: tuple[str, str]) -> None:
    _, manifests = built
    items = objects(manifests)
    budgets = {
        b["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        for b in by_kind(items, "PodDisruptionBudget")
    }
    assert budgets == {d["metadata"]["name"] for d in by_kind(items, "Deployment")}
