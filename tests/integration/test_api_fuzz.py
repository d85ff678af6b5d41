"""Every service's OpenAPI, fuzzed by schemathesis: no request may get a 5xx.

The three apps run for real (uvicorn on loopback ports, real Kafka, the test's own PostgreSQL
schema with a case in it) and the schemathesis command line is pointed at each one's
``/openapi.json`` with an admin's token, the role that reaches every operation. Short form for
CI (5 generated requests per operation and the documented examples, fixed seed); the full form
adds the coverage phase (every parameter's boundary values, about 4 times the short form's
cost) and the stateful one, with more examples, or runs the command against ``make run``
(docs/security.md):

    WINBACK_API_FUZZ_EXAMPLES=200 WINBACK_API_FUZZ_PHASES=examples,coverage,fuzzing,stateful \\
        .venv/bin/pytest tests/integration/test_api_fuzz.py

Below it, each 5xx fuzzing found, kept as a plain request that must now be refused cleanly.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.case_support import CaseDesk, running_desk
from tests.support import generic_source, serve
from winback_ingest.app import create_app as create_ingest_app
from winback_ingest.settings import IngestSettings
from winback_local.signing import new_secret
from winback_router.app import create_app as create_router_app
from winback_router.settings import RouterSettings
from winback_shared.agents import Role

EXAMPLES = os.environ.get("WINBACK_API_FUZZ_EXAMPLES", "5")
PHASES = os.environ.get("WINBACK_API_FUZZ_PHASES", "examples,fuzzing")
SEED = os.environ.get("WINBACK_API_FUZZ_SEED", "20261130")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# Ingest's one path parameter is the source: fuzzing it only ever reaches 404 unknown_source.
CONFIG = '[parameters]\n"path.source" = "survey"\n'


@dataclass
class Stack:
    """The three apps' URLs and an admin's token."""

    urls: dict[str, str]
    token: str
    desk: CaseDesk


@pytest.fixture
async def stack(infra_env: dict[str, Any], unique: str) -> AsyncIterator[Stack]:
    """Notifier (with one open case), router and ingest on this test's topics and schema."""
    sources = {"survey": generic_source(new_secret())}
    router = RouterSettings(**infra_env, router_group=f"router-{unique}", sources=sources)
    ingest = IngestSettings(**infra_env, sources=sources)
    failures: list[BaseException] = []
    async with (
        running_desk(infra_env) as desk,
        serve(create_router_app(router, failures.append)) as router_url,
        serve(create_ingest_app(ingest)) as ingest_url,
    ):
        # A name no generator will guess: fuzzing must not demote or disable its own admin.
        token = await desk.agent(f"fuzz-admin-{uuid4().hex}", Role.ADMIN)
        await desk.case()
        urls = {"notifier": desk.url, "router": router_url, "ingest": ingest_url}
        await build_openapi_documents(urls.values())
        yield Stack(urls, token, desk)
    assert not failures, f"the router loop died: {failures!r}"


async def build_openapi_documents(urls: Iterable[str]) -> None:
    """Have each app build its OpenAPI document once, before schemathesis asks for it.

    FastAPI builds the document on the first request and keeps it. Built while the other two
    schemathesis runs already fuzz the same event loop, on a loaded machine the notifier's took
    longer than schemathesis's fixed 10 s for loading a schema ("Read timed out"), a failure of
    the machine's load, not of any operation; afterwards each request only serialises it.
    """
    async with httpx.AsyncClient(timeout=120) as client:
        for url in urls:
            (await client.get(f"{url}/openapi.json")).raise_for_status()


async def schemathesis(url: str, token: str, config: Path) -> tuple[int, str]:
    """Run the schemathesis CLI against ``url``; its exit code and the tail of its output."""
    process = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        f"--config-file={config}",
        "run",
        f"{url}/openapi.json",
        "--checks=not_a_server_error",
        f"--phases={PHASES}",
        f"--max-examples={EXAMPLES}",
        f"--seed={SEED}",
        "--workers=1",
        "--no-color",
        "--header",
        f"Authorization: Bearer {token}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=config.parent,  # its cache folder lands there, not in the repository
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")[-8000:]


@pytest.mark.timeout(300)  # three bounded subprocesses; the suite's 120 s is for hangs
async def test_no_operation_of_any_service_answers_5xx(stack: Stack, tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    results = await asyncio.gather(
        *(schemathesis(url, stack.token, config) for url in stack.urls.values())
    )
    for service, (code, output) in zip(stack.urls, results, strict=True):
        assert code == 0, f"schemathesis failed on {service}:\n{output}"
        assert "Server error" not in output, output


BIG = 2**63  # one past PostgreSQL's bigint
FOUND: list[tuple[str, str, dict[str, Any] | None, int, str]] = [
    # (method, path, body, status, code): each answered 500 before its fix
    ("GET", "/api/cases?status=%00", None, 422, "invalid_request"),
    ("GET", f"/api/cases/{BIG}", None, 422, "invalid_value"),
    ("POST", f"/api/cases/{BIG}/claim", {}, 422, "invalid_value"),
    ("GET", f"/api/cases/{BIG}/assignees", None, 422, "invalid_value"),
    ("GET", "/api/ops/sla?until=0001-01-02T00:00:00Z", None, 422, "invalid_window"),
    ("GET", "/api/ops/root-causes?until=0001-01-02T00:00:00Z", None, 422, "invalid_window"),
    (
        "GET",
        "/api/ops/sla?since=9999-12-30T23:00:00-14:00&until=9999-12-31T23:00:00-14:00",
        None,
        422,
        "invalid_window",
    ),
    ("POST", "/api/admin/agents/%00/token", {}, 422, "invalid_text"),
    ("PUT", "/api/admin/agents/%00/role", {"role": "agent"}, 422, "invalid_text"),
    ("DELETE", "/api/admin/agents/%00", None, 422, "invalid_text"),
    ("POST", "/api/admin/queues", {"name": "q1", "description": "a\x00"}, 422, "invalid_text"),
    ("POST", "/api/cases/{case}/notes", {"text": "a\x00b"}, 422, "invalid_text"),
    ("POST", "/api/cases/{case}/reassign", {"agent": "a\x00b"}, 422, "invalid_text"),
    ("POST", "/api/cases/{case}/reassign", {"queue": "a\x00b"}, 422, "invalid_text"),
]
ROUTER_FOUND: list[tuple[str, str, dict[str, Any] | None, int, str]] = [
    ("GET", f"/ops/dead-letters/{BIG}", None, 422, "invalid_value"),
    ("GET", "/ops/dead-letters?source=%00", None, 422, "invalid_text"),
    ("POST", "/ops/dead-letters/replay", {"ids": [BIG]}, 422, "invalid_value"),
    ("POST", "/ops/dead-letters/replay", {"source": "\x00"}, 422, "invalid_text"),
]


async def test_what_fuzzing_found_is_refused_cleanly_and_changes_nothing(stack: Stack) -> None:
    desk = stack.desk
    case = await desk.case()
    before = await desk.status(case)
    cases = [("notifier", *found) for found in FOUND] + [("router", *f) for f in ROUTER_FOUND]
    for service, method, path, body, status, code in cases:
        url = stack.urls[service] + path.format(case=case)
        headers = {"Authorization": f"Bearer {stack.token}"}
        answer = await desk.http.request(method, url, json=body, headers=headers)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), (
            method,
            path,
            answer.text,
        )
    assert await desk.status(case) == before


async def test_nul_in_any_text_of_a_workflow_step_is_refused_and_the_step_can_be_retried(
    stack: Stack,
) -> None:
    desk, token = stack.desk, stack.token
    case = await desk.case()
    assert (await desk.act(token, case, "claim")).status_code == 200
    bad_attempt = {"channel": "phone", "reached": True, "note": "x\x00"}
    assert (await desk.act(token, case, "attempts", bad_attempt)).status_code == 422
    good_attempt = {**bad_attempt, "note": "x"}
    assert (await desk.act(token, case, "attempts", good_attempt)).status_code == 200
    resolution = {"apology": True, "explanation": "sorry\x00", "process_change": "none"}
    resolve = {"root_cause": "billing_error", "customer_reaction": "neutral"}
    refused = await desk.act(token, case, "resolve", {**resolve, "resolution": resolution})
    assert refused.json()["error"]["code"] == "invalid_text", refused.text
    resolution["explanation"] = "sorry"
    accepted = await desk.act(token, case, "resolve", {**resolve, "resolution": resolution})
    assert accepted.status_code == 200, accepted.text
    assert (await desk.status(case))[0] == "resolved"
