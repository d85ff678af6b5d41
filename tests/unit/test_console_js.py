"""The console's JavaScript, without a browser: the tests in ``tests/js/`` under Node's own
runner (the board reducer, the profile's rules), fed the ``hello`` the server really sends.

``tests/js/hello.json`` is that ``hello``, for an agent and a supervisor; a test here holds it
to :func:`build_profile`, so the JavaScript tests cannot pass against a contract the server no
longer keeps. Refresh it with ``WINBACK_UPDATE_JS_FIXTURES=1`` after changing the profile.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from winback_notifier.agents.profile import build_profile
from winback_notifier.live.socket import Hello
from winback_notifier.settings import NotifierSettings
from winback_shared.agents import Agent, Role
from winback_shared.taxonomy import ReasonCode, Taxonomy

REPO = Path(__file__).resolve().parents[2]
JS_TESTS = REPO / "tests" / "js"
HELLO_FIXTURE = JS_TESTS / "hello.json"
NODE_TIMEOUT_SECONDS = 60


def server_hellos() -> dict[str, Any]:
    """The ``hello`` an agent of queue ``default`` and a supervisor of no queue receive."""
    settings = NotifierSettings(  # as given, whatever the environment says
        unreachable_after_attempts=3,
        contact_target_minutes={1: 10, 2: 15, 3: 60, 4: 240},
        sla_warning_seconds=180,
    )
    taxonomy = Taxonomy(codes=[ReasonCode(id="long_wait", label="Long hold or wait")])
    agents = {
        "agent": Agent(1, "Ana", Role.AGENT, frozenset({"default"})),
        "supervisor": Agent(3, "Sue", Role.SUPERVISOR, frozenset()),
    }
    return {
        key: json.loads(Hello(agent=build_profile(agent, settings, taxonomy)).model_dump_json())
        for key, agent in agents.items()
    }


def test_the_hello_the_js_tests_use_is_the_one_the_server_sends() -> None:
    expected = server_hellos()
    if os.environ.get("WINBACK_UPDATE_JS_FIXTURES"):
        HELLO_FIXTURE.write_text(json.dumps(expected, indent=2) + "\n")
    assert json.loads(HELLO_FIXTURE.read_text()) == expected, (
        f"{HELLO_FIXTURE} is stale: rerun with WINBACK_UPDATE_JS_FIXTURES=1"
    )


def test_the_console_javascript_passes_its_tests() -> None:
    node = shutil.which("node")
    if node is None:
        message = "node is missing: the console's JavaScript tests (tests/js/) need Node.js 18+"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    files = sorted(str(path) for path in JS_TESTS.glob("*.test.js"))
    assert files, f"no JavaScript tests in {JS_TESTS}"
    result = subprocess.run(
        [node, "--test", *files],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
