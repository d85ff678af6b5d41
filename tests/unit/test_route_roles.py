"""Every route of every service has a role rule, and the rule it declares is the rule it enforces.

The table is read from the apps themselves (FastAPI's route table and each route's dependency
tree), never written out by hand: a route added without a sign-in gate fails here until it gets
one (``CurrentAgent``, ``CurrentSupervisor``, ``CurrentAdmin`` from ``winback_shared.auth``), or
until it is added to ``PUBLIC`` below with the reason it may be.

Then every gated route is called for real (in-process, a fake sign-in pool, no database): with
no token it answers 401, with a token one rung below its rule 403, before anything else of the
request is looked at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from starlette.routing import Mount, Route

from tests.auth_support import TOKEN_OF, FakePool
from tests.support import generic_source
from winback_ingest.app import create_app as create_ingest_app
from winback_ingest.settings import IngestSettings
from winback_notifier.app import create_app as create_notifier_app
from winback_notifier.outbound.app import create_app as create_outbound_app
from winback_notifier.outbound.settings import OutboundSettings
from winback_notifier.settings import NotifierSettings
from winback_router.app import create_app as create_router_app
from winback_router.settings import RouterSettings
from winback_shared.agents import Role
from winback_shared.auth import current_admin, current_agent, current_supervisor

GATES: dict[Callable[..., Any], Role] = {
    current_agent: Role.AGENT,
    current_supervisor: Role.SUPERVISOR,
    current_admin: Role.ADMIN,
}
"""The sign-in dependencies and the least role each lets through."""

LADDER = [Role.AGENT, Role.SUPERVISOR, Role.ADMIN]

DOCS = "the API's own description; says nothing a client of it may not know"
PUBLIC: dict[tuple[str, str, str], str] = {
    # (service, method, path): why it needs no agent token
    **{
        (service, method, path): DOCS
        for service in ("ingest", "router", "notifier", "outbound")
        for path in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
        for method in ("GET", "HEAD")
    },
    **{
        (service, "GET", path): reason
        for service in ("ingest", "router", "notifier", "outbound")
        for path, reason in {
            "/healthz": "liveness probe for the orchestrator: answers ok, nothing else",
            "/readyz": "readiness probe: which dependency is up, no data",
            "/metrics": "Prometheus scrape: counts and latencies, no customer data",
        }.items()
    },
    ("ingest", "POST", "/webhooks/{source}"): "vendors sign each delivery: 401 bad_signature",
    ("ingest", "HEAD", "/webhooks/{source}"): "SurveyMonkey checks the URL before posting",
    ("ingest", "GET", "/schemas/generic.json"): "the published JSON Schema of the format",
    ("notifier", "POST", "/webhooks/zendesk/{name}"): (
        "Zendesk cannot send an agent token: it signs each ticket change with the webhook's "
        "secret (401 bad_signature, test_outbound_zendesk), and may only resolve, close or add "
        "a note to the case linked to that ticket"
    ),
    ("notifier", "GET", "/"): "the console page; it signs in over the websocket",
    ("notifier", "MOUNT", "/static"): "the console's code and styles, no data",
    ("notifier", "GET", "/ops"): (
        "the ops page's HTML shell, no data; every figure comes from /api/ops/*, which are gated"
    ),
    ("notifier", "GET", "/vendor/chart.js"): "the charting library's published code, no data",
    ("notifier", "WEBSOCKET", "/ws"): (
        "signs in with its first message (4401 otherwise, test_case_agents_live) and refuses a "
        "foreign Origin (test_websocket_origin)"
    ),
}


@dataclass(frozen=True)
class Endpoint:
    """One method of one route of one service, and the least role its gates let through."""

    service: str
    method: str
    path: str
    role: Role | None
    path_params: dict[str, Any]

    @property
    def key(self) -> tuple[str, str, str]:
        """How ``PUBLIC`` names it."""
        return self.service, self.method, self.path

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.path}"


def build_apps() -> dict[str, FastAPI]:
    """The services' apps (the outbound process's too) as deployed, not started (no lifespan:
    nothing is reached)."""
    sources = {"survey": generic_source("whsec_" + "A" * 32)}
    return {
        "ingest": create_ingest_app(IngestSettings(sources=sources)),
        "router": create_router_app(RouterSettings(sources=sources)),
        "notifier": create_notifier_app(NotifierSettings()),
        "outbound": create_outbound_app(OutboundSettings()),
    }


APPS = build_apps()


def required_role(dependant: Dependant) -> Role | None:
    """The highest gate anywhere in the dependency tree (router-level gates included)."""
    found = [GATES[dependant.call]] if dependant.call in GATES else []
    found += [role for sub in dependant.dependencies if (role := required_role(sub))]
    return max(found, key=LADDER.index, default=None)


def path_params(dependant: Dependant) -> dict[str, Any]:
    """Every path parameter the route reads, its dependencies' included (``case_id``)."""
    found = {param.name: param.field_info.annotation for param in dependant.path_params}
    for sub in dependant.dependencies:
        found |= path_params(sub)
    return found


def endpoints_of(service: str, app: FastAPI) -> Iterator[Endpoint]:
    """Every (method, path) the service answers, with its rule, as the app will route it
    (routers included with their prefixes and router-level dependencies)."""
    for route in iter_route_contexts(app.routes):
        kind, path = route.original_route, route.path
        assert path is not None
        if isinstance(kind, APIRoute):
            dependant: Dependant = route.dependant
            params = path_params(dependant)
            for method in sorted(route.methods or ()):
                yield Endpoint(service, method, path, required_role(dependant), params)
        elif isinstance(kind, APIWebSocketRoute):
            yield Endpoint(service, "WEBSOCKET", path, required_role(route.dependant), {})
        elif isinstance(kind, Mount):
            yield Endpoint(service, "MOUNT", path, None, {})
        elif isinstance(kind, Route):  # Starlette's own: FastAPI's docs pages
            for method in sorted(route.methods or ()):
                yield Endpoint(service, method, path, None, {})
        else:
            raise AssertionError(f"{service}: a route of a kind this test cannot read: {kind!r}")


ENDPOINTS = [endpoint for name, app in APPS.items() for endpoint in endpoints_of(name, app)]
GATED = [endpoint for endpoint in ENDPOINTS if endpoint.role is not None]


def test_every_route_has_a_role_rule_or_a_reason_to_be_public() -> None:
    ungated = {endpoint.key for endpoint in ENDPOINTS if endpoint.role is None}
    unexplained = sorted(ungated - PUBLIC.keys())
    assert not unexplained, (
        "routes without a sign-in gate: add CurrentAgent / CurrentSupervisor / CurrentAdmin, "
        f"or list them in PUBLIC with a reason: {unexplained}"
    )
    gated = {endpoint.key for endpoint in GATED}
    assert not gated & PUBLIC.keys(), "a gated route is listed as public"
    assert all(reason.strip() for reason in PUBLIC.values())


def test_the_public_list_names_only_routes_that_exist() -> None:
    """A public entry whose route is gone must go too, or it would excuse the next one."""
    existing = {endpoint.key for endpoint in ENDPOINTS}
    assert sorted(PUBLIC.keys() - existing) == []


def test_the_table_is_read_from_the_apps() -> None:
    """Guards the reader: the rules it finds match what the API documents for these."""
    rules = {str(endpoint): endpoint.role for endpoint in GATED}
    assert rules["notifier GET /api/cases"] is Role.AGENT
    assert rules["notifier GET /api/cases/{case_id}/assignees"] is Role.SUPERVISOR
    # The story so far (issue 17): whoever may read a case may read its story and claim with it.
    assert rules["notifier GET /api/cases/{case_id}/story"] is Role.AGENT
    assert rules["notifier POST /api/cases/{case_id}/claim-together"] is Role.AGENT
    assert rules["notifier GET /api/repeat-customers"] is Role.AGENT
    assert rules["notifier GET /api/cases/{case_id}/call-time"] is Role.AGENT
    assert rules["notifier GET /api/call-guidance"] is Role.AGENT
    assert rules["notifier GET /api/ops/sla"] is Role.SUPERVISOR
    assert rules["notifier GET /api/ops/staffing"] is Role.SUPERVISOR
    assert rules["notifier GET /api/ops/outcomes"] is Role.SUPERVISOR
    assert rules["notifier DELETE /api/admin/agents/{name}"] is Role.ADMIN
    assert rules["notifier POST /api/admin/outbound/subscriptions"] is Role.ADMIN
    assert rules["notifier POST /api/admin/outbound/subscriptions/{name}/replay"] is Role.ADMIN
    assert not any(endpoint.service == "outbound" for endpoint in GATED)  # probes only
    assert rules["router GET /ops/dead-letters"] is Role.SUPERVISOR  # a router-level gate
    # What became of a delivery (`winback send` asks it; the demo agent is a supervisor).
    assert rules["router GET /ops/deliveries/{receipt_id}"] is Role.SUPERVISOR
    # Offers (issue 17): agents make them and read them; supervisors answer; admins set limits.
    assert rules["notifier GET /api/cases/{case_id}/offers"] is Role.AGENT
    assert rules["notifier POST /api/cases/{case_id}/offers"] is Role.AGENT
    for answer in ("approve", "decline"):
        assert rules[f"notifier POST /api/cases/{{case_id}}/offers/{{offer_id}}/{answer}"] is (
            Role.SUPERVISOR
        )
    assert rules["notifier GET /api/offers/pending"] is Role.SUPERVISOR
    assert rules["notifier GET /api/admin/offer-limits"] is Role.ADMIN
    assert rules["notifier PUT /api/admin/offer-limits"] is Role.ADMIN
    assert not any(endpoint.service == "ingest" for endpoint in GATED)


def prepared(app: FastAPI) -> FastAPI:
    """What handlers reach before a gate could refuse: the sign-in pool and placeholders."""
    app.state.pool = FakePool()
    app.state.services = SimpleNamespace(pool=app.state.pool)
    app.state.announcer = None
    return app


def url_of(endpoint: Endpoint) -> str:
    """The endpoint's path with a well-formed value in each parameter."""
    values = {name: "1" if kind is int else "x" for name, kind in endpoint.path_params.items()}
    return endpoint.path.format(**values)


async def call(endpoint: Endpoint, token: str | None) -> httpx.Response:
    """Call the endpoint in-process, signed in with ``token`` (or not at all)."""
    app = prepared(APPS[endpoint.service])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    body: dict[str, Any] | None = {} if endpoint.method in ("POST", "PUT", "PATCH") else None
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        return await http.request(endpoint.method, url_of(endpoint), json=body, headers=headers)


@pytest.mark.parametrize("endpoint", GATED, ids=str)
async def test_a_gated_route_refuses_a_caller_without_a_token(endpoint: Endpoint) -> None:
    answer = await call(endpoint, None)
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] == "unauthenticated"


BELOW = [endpoint for endpoint in GATED if endpoint.role is not Role.AGENT]


@pytest.mark.parametrize("endpoint", BELOW, ids=str)
async def test_a_gated_route_refuses_the_role_below_its_rule(endpoint: Endpoint) -> None:
    assert endpoint.role is not None
    below = LADDER[LADDER.index(endpoint.role) - 1]
    answer = await call(endpoint, TOKEN_OF[below])
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("endpoint", GATED, ids=str)
async def test_a_gated_route_lets_its_own_role_past_the_gate(endpoint: Endpoint) -> None:
    """Past the gate the handler meets the placeholders and fails: anything but 401/403 shows
    the gate opened for the role it names."""
    assert endpoint.role is not None
    answer = await call(endpoint, TOKEN_OF[endpoint.role])
    assert answer.status_code not in (401, 403), answer.text
