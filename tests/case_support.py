"""Helpers for case workflow tests: a notifier on real Kafka and PostgreSQL, agents, cases.

Cases are stored by the router's own store functions (a response row and its case row, deadline
included), so the workflow can be tested without sending surveys through ingest, Kafka and the
router each time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.log_guard import remember
from tests.role_support import NOTIFIER, service_env
from tests.support import loopback_client, serve
from winback_notifier.app import create_app
from winback_notifier.settings import NotifierSettings
from winback_router.decision import Decision
from winback_router.revisions import content_digest
from winback_router.store import insert_response, mark_alerted
from winback_shared.agents import Role, ensure_queues, issue_token
from winback_shared.db import create_pool
from winback_shared.deadlines import ContactPolicy
from winback_shared.events.recovery_alerts import CaseSummary, CodedReason, RecoveryCaseOpened
from winback_shared.kafka import reliable_producer
from winback_shared.survey import Customer, Interaction, Score, ScoreKind, SurveyResponse

CUSTOMER_EMAIL = "dana@example.com"
CUSTOMER_PHONE = "+1 555 0100"

DEFAULT_REASONS = [
    {
        "code": "product_knowledge",
        "label": "Lack of product knowledge",
        "evidence": "agent lacked product knowledge",
        "method": "chosen_answer",
        "confidence": 1.0,
    }
]


async def open_case(
    pool: asyncpg.Pool,
    *,
    queue: str = "default",
    priority: int = 1,
    comment: str | None = "He could not answer my question.",
    name: str = "Dana Whitfield",
    reasons: list[dict[str, Any]] | None = None,
    contact_policy: ContactPolicy | None = None,
    customer: Customer | None = None,
    source: str = "survey",
    interaction: Interaction | None = None,
    submitted_at: datetime | None = None,
) -> int:
    """Store a response and open its case with the router's own store, as if its alert was
    acknowledged; return the case id. Every case is customer c-1's unless ``customer`` says."""
    customer = customer or Customer(id="c-1", name=name, email=CUSTOMER_EMAIL, phone=CUSTOMER_PHONE)
    remember(customer.name, comment, customer.email, customer.phone)
    response = SurveyResponse(
        source=source,
        response_id=f"r-{uuid4().hex[:10]}",
        receipt_id=str(uuid4()),
        vendor="generic",
        submitted_at=submitted_at,
        received_at=datetime.now(UTC),
        customer=customer,
        interaction=interaction
        or Interaction(id="call-1", channel="phone", agent="Sam", team="Billing"),
        scores=[Score(kind=ScoreKind.NPS, value=2, scale_min=0, scale_max=10)],
        comment=comment,
    )
    coded = [
        CodedReason.model_validate(reason)
        for reason in (DEFAULT_REASONS if reasons is None else reasons)
    ]
    decision = Decision(needs_recovery=True, priority=priority, triggers=("test",))
    async with pool.acquire() as conn, conn.transaction():
        opened = await insert_response(
            conn,
            response,
            content_digest(response),
            coded,
            decision,
            queue,
            contact_policy=contact_policy or ContactPolicy(),
        )
        assert opened is not None
        await mark_alerted(conn, [opened.case.case_id])
    return opened.case.case_id


@dataclass
class CaseDesk:
    """A running notifier with helpers to make agents and cases and to call its API."""

    url: str
    pool: asyncpg.Pool
    http: httpx.AsyncClient
    contact_policy: ContactPolicy = field(default_factory=ContactPolicy)
    """What the router would compute deadlines from: the desk's notifier's own policy."""

    @property
    def websocket_url(self) -> str:
        """The live endpoint."""
        return self.url.replace("http://", "ws://") + "/ws"

    async def agent(
        self, name: str, role: Role = Role.AGENT, queues: Iterable[str] = ("default",)
    ) -> str:
        """Create an agent in these queues; return its token."""
        wanted = list(queues)
        async with self.pool.acquire() as conn:
            await ensure_queues(conn, wanted)
            _, token = await issue_token(conn, name=name, role=role, queues=wanted)
        remember(token)
        return token

    async def case(
        self,
        *,
        queue: str = "default",
        priority: int = 1,
        comment: str | None = "He could not answer my question.",
        name: str = "Dana Whitfield",
        reasons: list[dict[str, Any]] | None = None,
        **response: Any,
    ) -> int:
        """Open an alerted case as the router would; return its id. ``response``: the
        customer, source, interaction or submission time (:func:`open_case`)."""
        return await open_case(
            self.pool,
            queue=queue,
            priority=priority,
            comment=comment,
            name=name,
            reasons=reasons,
            contact_policy=self.contact_policy,
            **response,
        )

    async def call(
        self, method: str, path: str, token: str | None, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        """Call the API as the agent with ``token`` (anonymously with ``None``)."""
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return await self.http.request(method, f"{self.url}{path}", json=body, headers=headers)

    async def act(
        self, token: str, case_id: int, action: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        """``POST /api/cases/{id}/{action}``."""
        return await self.call("POST", f"/api/cases/{case_id}/{action}", token, body or {})

    async def status(self, case_id: int) -> tuple[str, int]:
        """The case's stored status and seq."""
        row = await self.pool.fetchrow(
            "SELECT status, seq FROM recovery_cases WHERE id = $1", case_id
        )
        assert row is not None
        return row["status"], row["seq"]

    @asynccontextmanager
    async def console(self, token: str, cursor: str | None = None) -> AsyncIterator[Console]:
        """A websocket console signed in as the agent with ``token``.

        With ``cursor`` (a console that was connected before), the board it gets is what the
        server sent instead of a snapshot: the ``catchup`` pages, merged."""
        socket = await connect(self.websocket_url)
        try:
            auth = {"type": "auth", "token": token}
            await socket.send(json.dumps(auth if cursor is None else {**auth, "cursor": cursor}))
            hello = json.loads(await socket.recv())
            assert hello["type"] == "hello"
            board = json.loads(await socket.recv())
            if board["type"] == "snapshot":
                yield Console(
                    socket, hello["agent"], board["cases"], board["total"], board["cursor"]
                )
                return
            pages = [board]
            while pages[-1]["cursor"] is None:
                pages.append(json.loads(await socket.recv()))
            assert all(page["type"] == "catchup" for page in pages)
            cases = [card for page in pages for card in page["cases"]]
            yield Console(socket, hello["agent"], cases, len(cases), pages[-1]["cursor"], pages)
        finally:
            await socket.close()


@dataclass
class Console:
    """A connected console: what it learnt on connect, and its live messages."""

    socket: ClientConnection
    profile: dict[str, Any]
    snapshot: list[dict[str, Any]]
    snapshot_total: int
    """Cases on the board in all, the snapshot's cases being at most the board limit."""
    cursor: str
    """Where this console would resume from."""
    catchup_pages: list[dict[str, Any]] = field(default_factory=list)
    """The ``catchup`` messages it got instead of a snapshot (none after a snapshot)."""

    async def next(self, timeout: float = 10) -> dict[str, Any]:
        """The next live message."""
        message: dict[str, Any] = json.loads(await asyncio.wait_for(self.socket.recv(), timeout))
        return message

    async def next_of(self, kind: str, timeout: float = 15) -> dict[str, Any]:
        """The next message of type ``kind``, skipping others (pongs, other cases)."""
        async with asyncio.timeout(timeout):
            while True:
                message = await self.next(timeout)
                if message.get("type") == kind:
                    return message

    async def closed(self, timeout: float = 15) -> tuple[int | None, str | None]:
        """Wait for the server to close the socket; its close code and reason."""
        async with asyncio.timeout(timeout):
            try:
                while True:
                    await self.socket.recv()
            except ConnectionClosed:
                pass
        return self.socket.close_code, self.socket.close_reason

    async def nothing_for(self, seconds: float) -> None:
        """Assert that no message arrives for ``seconds``."""
        try:
            message = await asyncio.wait_for(self.socket.recv(), seconds)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message: {message!r}")


@dataclass(frozen=True)
class ThreeConsoles:
    """A case in the default queue and three agents' consoles, signed in: ``ana`` (an agent of
    the case's queue), ``bill`` (an agent of another queue: he must never see it) and ``sue`` (a
    supervisor of no queue: she sees every queue)."""

    case_id: int
    ana: str
    """Each agent's token."""
    bill: str
    sue: str
    ana_console: Console
    bill_console: Console
    sue_console: Console


@asynccontextmanager
async def three_consoles(desk: CaseDesk) -> AsyncIterator[ThreeConsoles]:
    """The agents, the case and the consoles of :class:`ThreeConsoles`, closed on the way out."""
    ana = await desk.agent("ana")
    bill = await desk.agent("bill", queues=["billing"])
    sue = await desk.agent("sue", Role.SUPERVISOR, queues=[])
    case_id = await desk.case()
    async with (
        desk.console(ana) as ana_console,
        desk.console(bill) as bill_console,
        desk.console(sue) as sue_console,
    ):
        yield ThreeConsoles(case_id, ana, bill, sue, ana_console, bill_console, sue_console)


async def next_change(console: Console, case_id: int) -> dict[str, Any]:
    """The next ``case.changed`` message for ``case_id`` (pongs and other cases skipped)."""
    while True:
        message: dict[str, Any] = await console.next()
        if message.get("type") == "case.changed" and message["case"]["case_id"] == case_id:
            return message


@asynccontextmanager
async def running_desk(infra_env: dict[str, Any], **overrides: Any) -> AsyncIterator[CaseDesk]:
    """A notifier on this test's topics and schema, with a pool and an HTTP client beside it.

    The notifier acts as its database role (``winback_notifier``; the migrations run first, as
    the owner); the desk's pool is the superuser's, to seed and to look. Fails if one of the
    notifier's loops died meanwhile (its error was logged)."""
    settings = NotifierSettings(**{**await service_env(infra_env, NOTIFIER), **overrides})
    failures: list[BaseException] = []
    app = create_app(settings, failures.append)
    # Served as ``python -m winback_notifier`` serves it: no websocket compression, so the
    # consoles' frames take the direct path (``live.direct``) as in production.
    async with (
        serve(app, websocket_compression=False) as url,
        loopback_client(timeout=15) as http,
    ):
        pool = await create_pool(str(infra_env["database_url"]), min_size=1, max_size=4)
        try:
            yield CaseDesk(url=url, pool=pool, http=http, contact_policy=settings.contact_policy())
        finally:
            await pool.close()
    assert not failures, f"a notifier loop died: {failures!r}"


async def publish_opened(desk: CaseDesk, kafka: str, topic: str, case_id: int) -> None:
    """Announce the case on ``recovery-alerts`` exactly as the router does."""
    row = await desk.pool.fetchrow("SELECT * FROM case_summaries WHERE case_id = $1", case_id)
    assert row is not None
    producer = reliable_producer(kafka)
    await producer.start()
    try:
        alert = RecoveryCaseOpened(case=CaseSummary.model_validate(dict(row)))
        await producer.send_and_wait(topic, alert.to_bytes(), key=str(case_id).encode())
    finally:
        await producer.stop()
