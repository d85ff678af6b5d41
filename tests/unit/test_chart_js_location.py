"""Where the notifier finds the ops page's Chart.js (see ``winback_notifier.vendor``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from winback_notifier.vendor import CHART_JS, find_chart_js


def test_a_configured_path_wins_and_a_missing_one_means_no_charts(tmp_path: Path) -> None:
    script = tmp_path / "chart.js"
    script.write_text("/* chart */")
    assert find_chart_js(script) == script
    assert find_chart_js(tmp_path / "absent.js") is None


def test_the_nearest_node_modules_above_the_package_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    installed = repo / CHART_JS
    installed.parent.mkdir(parents=True)
    installed.write_text("/* chart */")
    package = repo / "services" / "notifier" / "winback_notifier"
    package.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert find_chart_js(None, start=package) == installed
    assert find_chart_js(None, start=elsewhere) is None


def test_this_checkout_serves_the_version_package_json_pins() -> None:
    """What bootstrap installed is what the lock says (skipped before bootstrap ran)."""
    import json

    repo = Path(__file__).resolve().parents[2]
    installed = repo / "node_modules" / "chart.js" / "package.json"
    if not installed.exists():
        pytest.skip("node_modules not installed: run scripts/bootstrap.sh")
    pinned = json.loads((repo / "package.json").read_text())["dependencies"]["chart.js"]
    assert json.loads(installed.read_text())["version"] == pinned
    assert find_chart_js(None) == repo / CHART_JS
