"""Alerting outside the console: the Prometheus rules and the Grafana dashboard in ``deploy/``.

The rules go through Prometheus' own validator and its rule unit tests (``promtool``, from
Debian's ``prometheus`` package, which ``scripts/bootstrap.sh`` installs); the dashboard's
queries go through the same PromQL parser, disguised as recording rules. Both may name only
metrics the services export, read from the metric objects themselves, so renaming a metric
without its alert fails here rather than silently never firing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

import winback_ingest.metrics
import winback_notifier.metrics
import winback_notifier.outbound.metrics
import winback_router.metrics
import winback_router.refine.metrics

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "prometheus" / "winback-alerts.yml"
RULE_TESTS = REPO / "deploy" / "prometheus" / "winback-alerts.test.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "winback-dashboard.json"
SERVICE_METRICS = (
    winback_ingest.metrics,
    winback_router.metrics,
    winback_router.refine.metrics,
    winback_notifier.metrics,
    winback_notifier.outbound.metrics,
)
SAMPLE_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
}
METRIC_NAME = re.compile(r"\bwinback_[a-z_]+\b")


def exported_names() -> set[str]:
    """Every series name the services' metrics produce (a counter ``x`` is ``x_total``...)."""
    names: set[str] = set()
    for module in SERVICE_METRICS:
        for metric in vars(module).values():
            if isinstance(metric, MetricWrapperBase):
                for family in metric.describe():
                    names.update(family.name + s for s in SAMPLE_SUFFIXES[family.type])
    return names


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        message = "promtool missing: apt-get install prometheus (scripts/bootstrap.sh does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def rule_expressions() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panel_expressions() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"] for target in panel["targets"]]


def test_the_rules_pass_promtool_check() -> None:
    checked = subprocess.run(
        [promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rule_expressions())} rules found" in checked.stdout


def test_the_rules_fire_as_their_unit_tests_say() -> None:
    tested = subprocess.run(
        [promtool(), "test", "rules", str(RULE_TESTS)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=RULE_TESTS.parent,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_rules_cover_what_ops_asked_for() -> None:
    names = {
        rule["alert"]
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for rule in group["rules"]
    }
    assert names >= {
        "WinbackQueueUnwatchedWithP1Cases",
        "WinbackSlaBreachRateHigh",
        "WinbackCasesAtRisk",
        "WinbackRouterConsumerLag",
        "WinbackDeadLettersGrowing",
        "WinbackIngestBrokerUnavailable",
        "WinbackOutboundDeliveriesDead",
        "WinbackOutboundCircuitOpen",
        "WinbackRefinerBehind",
    }


def test_every_dashboard_query_parses_as_promql(tmp_path: Path) -> None:
    as_rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"winback_dashboard:panel_{i}", "expr": expr}
                    for i, expr in enumerate(panel_expressions())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(as_rules))
    checked = subprocess.run(
        [promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_every_metric_named_is_one_the_services_export(source: str) -> None:
    expressions = rule_expressions() if source == "rules" else panel_expressions()
    named = {name for expr in expressions for name in METRIC_NAME.findall(expr)}
    exported = exported_names()

    assert named, "no metric named at all"
    assert named <= exported, f"not exported by any service: {sorted(named - exported)}"


def test_the_dashboard_is_a_grafana_dashboard() -> None:
    board = dashboard()
    assert board["uid"] and board["title"]
    assert isinstance(board["schemaVersion"], int)
    assert [v["name"] for v in board["templating"]["list"]] == ["datasource"]
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["type"] in {"timeseries", "stat", "gauge", "table", "bargauge"}
        assert panel["title"]
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
    # Every floor gauge the alert rules use is on the board, so an alert can be looked at.
    on_board = {name for expr in panel_expressions() for name in METRIC_NAME.findall(expr)}
    in_rules = {name for expr in rule_expressions() for name in METRIC_NAME.findall(expr)}
    assert in_rules <= on_board, sorted(in_rules - on_board)


PROMETHEUS_CONFIG = REPO / "deploy" / "prometheus" / "prometheus.yml"
PROVISIONING = REPO / "deploy" / "grafana" / "provisioning"


def compose_service(name: str) -> dict[str, Any]:
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    service: dict[str, Any] = services[name]
    return service


def mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path → the repo file or folder a compose service mounts there."""
    found = {}
    for volume in service.get("volumes", []):
        source, target, *_ = str(volume).split(":")
        if source.startswith("./"):
            found[target] = REPO / source
    return found


def test_the_compose_prometheus_config_passes_promtool_and_loads_the_checked_rules(
    tmp_path: Path,
) -> None:
    """promtool reads the config with its rule file where compose mounts it from."""
    prometheus = compose_service("prometheus")
    mounted = mounts(prometheus)
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    assert mounted["/etc/prometheus/prometheus.yml"] == PROMETHEUS_CONFIG
    assert [mounted[path] for path in config["rule_files"]] == [RULES]
    config["rule_files"] = [str(RULES)]
    local = tmp_path / "prometheus.yml"
    local.write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [promtool(), "check", "config", str(local)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_prometheus_scrapes_every_instance_of_each_service_on_its_port() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    targets = {
        sd["names"][0]: sd["port"]
        for job in config["scrape_configs"]
        for sd in job["dns_sd_configs"]
    }
    assert targets == {
        "ingest": 8000,
        "router": 8001,
        "notifier": 8002,
        "refiner": 8003,
        "outbound": 8004,
    }


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard() -> None:
    grafana = compose_service("grafana")
    mounted = mounts(grafana)
    assert mounted["/etc/grafana/provisioning"] == PROVISIONING
    (source,) = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())[
        "datasources"
    ]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    (provider,) = yaml.safe_load((PROVISIONING / "dashboards" / "winback.yml").read_text())[
        "providers"
    ]
    folder = provider["options"]["path"]
    dashboards = {t: p for t, p in mounted.items() if t.startswith(folder + "/")}
    assert list(dashboards.values()) == [DASHBOARD]
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home in dashboards
