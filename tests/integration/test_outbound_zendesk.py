"""The Zendesk sync on the real PostgreSQL against a local Zendesk-shaped API
(:mod:`tests.zendesk_fake`): a ticket made once under retries and lost answers, kept in step
with the case (assignee, status, resolution), later changes waiting for the ticket, Zendesk's
refusals as dead letters with its own words; and back from Zendesk through the notifier's signed
webhook: a solved ticket resolves the case, a wrong or stale signature is refused, and nothing
loops (the requests the fake received are counted)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import asyncpg
import pytest

from tests.case_support import open_case, running_desk
from tests.outbound_support import LOOPBACK, running_dispatcher
from tests.role_support import NOTIFIER, as_role, migrate_as_owner
from tests.support import eventually
from tests.zendesk_fake import ZendeskApi, running_zendesk
from winback_notifier.cases import service as cases
from winback_notifier.cases.service import Change
from winback_notifier.cases.tickets import case_tickets
from winback_notifier.outbound import helpdesk_links, service, store
from winback_notifier.outbound.events import EventType, OutboundEvent, from_alert, from_change
from winback_notifier.outbound.retry import RetryPolicy
from winback_notifier.outbound.sealing import SecretBox
from winback_notifier.outbound.subscriptions import Channel, Subscription
from winback_shared.agents import Agent, Role, issue_token
from winback_shared.case_vocabulary import AttemptOutcome
from winback_shared.db import Connection, create_pool
from winback_shared.events.case_events import CaseCard, CaseChanged, Resolution
from winback_shared.events.recovery_alerts import CaseSummary, RecoveryCaseOpened
from winback_shared.survey import Customer
from winback_shared.zendesk_signatures import sign, timestamp_of

SIGNING_SECRET = "zd-signing-secret-for-tests"
EVENTS = [
    EventType.CASE_OPENED,
    EventType.CASE_CLAIMED,
    EventType.CASE_RESOLVED,
    EventType.CASE_CLOSED,
]
QUICK = RetryPolicy(base_seconds=0.01, cap_seconds=0.05, max_attempts=6)
CLEAR = SecretBox()
"""The sync's own tests keep secrets in clear (the notifier they run has no key); sealed
Zendesk secrets are tested in ``test_outbound_zendesk_safety.py``."""


@pytest.fixture
async def owner(schema_url: str) -> AsyncIterator[asyncpg.Pool]:
    """The superuser on a migrated schema: seeds cases and agents as the router would."""
    await migrate_as_owner(schema_url)
    opened = await create_pool(schema_url, min_size=1, max_size=4)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def pool(owner: asyncpg.Pool, schema_url: str) -> AsyncIterator[asyncpg.Pool]:
    """The notifier's role: the outbound process and the case workflow."""
    opened = await create_pool(as_role(schema_url, NOTIFIER), min_size=1, max_size=6)
    try:
        yield opened
    finally:
        await opened.close()


async def subscribe(db: asyncpg.Pool, zd: ZendeskApi, token: str | None = None) -> Subscription:
    url = f"{zd.url}/?email={zd.email}&group_id=77&agent=ana:ana@acme.test"
    subscription, secret = await service.subscribe(
        db,
        name="helpdesk",
        channel=Channel.ZENDESK,
        url=url,
        event_types=EVENTS,
        credential=token or zd.token,
        signing_secret=SIGNING_SECRET,
        policy=LOOPBACK,
        box=CLEAR,
    )
    assert secret is None
    return subscription


async def opened(db: asyncpg.Pool, case_id: int) -> OutboundEvent:
    """The case's ``case.opened``, as the router's alert carries it."""
    row = await db.fetchrow("SELECT * FROM case_summaries WHERE case_id = $1", case_id)
    assert row is not None
    return from_alert(RecoveryCaseOpened(case=CaseSummary.model_validate(dict(row))))


def outbound(change: Change) -> OutboundEvent | None:
    """The outbound event of a committed change, as the consumer group would read it."""
    return from_change(CaseChanged(case=change.card, change=change.entry))


async def act(
    db: asyncpg.Pool, write: Callable[..., Awaitable[Change]], case_id: int, actor: Agent
) -> Change:
    async with db.acquire() as conn:
        return await write(conn, case_id=case_id, actor=actor)


async def ana(db: asyncpg.Pool) -> Agent:
    async with db.acquire() as conn:
        agent, _ = await issue_token(conn, name="ana", role=Role.AGENT)
    return agent


async def work_the_case(db: asyncpg.Pool, case_id: int, agent: Agent) -> list[Change]:
    """Claim, reach the customer, resolve: the changes, in order."""
    claimed = await act(db, cases.claim, case_id, agent)
    reached = await act(
        db,
        partial(cases.log_attempt, channel="phone", outcome=AttemptOutcome.REACHED, note=""),
        case_id,
        agent,
    )
    resolved = await act(
        db,
        partial(
            cases.resolve,
            root_cause="product_knowledge",
            resolution=Resolution(apology=True, explanation="Walked her through the plan."),
            customer_reaction="satisfied",
            note="",
        ),
        case_id,
        agent,
    )
    return [claimed, reached, resolved]


async def record(db: asyncpg.Pool, *events: OutboundEvent | None) -> None:
    await store.record(db, [event for event in events if event is not None])


async def all_delivered(db: asyncpg.Pool, count: int) -> bool:
    rows = await store.list_deliveries(db, "helpdesk")
    return len(rows) == count and {row.status for row in rows} == {"delivered"}


async def test_a_ticket_is_made_once_under_retries_and_kept_in_step(
    owner: asyncpg.Pool, pool: asyncpg.Pool
) -> None:
    async with running_zendesk() as zd:
        await subscribe(pool, zd)
        case_id = await open_case(owner)
        zd.fail_next(429, 503)  # rate limited (Retry-After: 1), then down
        zd.lose_next_answers(1)  # then the ticket is made but the answer is lost
        await record(pool, await opened(owner, case_id))
        async with running_dispatcher(pool, policy=QUICK):
            assert await eventually(lambda: all_delivered(pool, 1), timeout=30)
            agent = await ana(owner)
            claimed, reached, resolved = await work_the_case(pool, case_id, agent)
            await record(pool, outbound(claimed), outbound(reached), outbound(resolved))
            assert await eventually(lambda: all_delivered(pool, 3), timeout=30)
            closed = await act(pool, partial(cases.close, follow_up_outcome="Credit arrived"),
                               case_id, agent)  # fmt: skip
            await record(pool, outbound(closed))
            assert await eventually(lambda: all_delivered(pool, 4), timeout=30)
    assert len(zd.tickets) == 1  # four POSTs, one ticket
    posts = zd.requests("POST")
    assert len(posts) == 4
    (key,) = {post.headers["idempotency-key"] for post in posts}
    first = (await store.list_deliveries(pool, "helpdesk"))[-1]
    assert key == first.webhook_id and first.attempts == 4
    ((ticket_id, ticket),) = zd.tickets.items()
    assert ticket["external_id"] == f"winback-case-{case_id}"
    assert ticket["requester"]["email"] == "dana@example.com"
    assert ticket["group_id"] == 77 and "winback" in ticket["tags"]
    assert ticket["status"] == "closed" and ticket["assignee_email"] == "ana@acme.test"
    puts = zd.requests("PUT")
    assert [put.json()["ticket"].get("status") for put in puts] == [None, "solved", "closed"]
    assert puts[0].json()["ticket"]["assignee_email"] == "ana@acme.test"
    notes = [comment["body"] for comment in zd.comments[ticket_id]]
    assert len(notes) == 3 and all(c["public"] is False for c in zd.comments[ticket_id])
    assert "Walked her through the plan." in notes[1] and "Credit arrived" in notes[2]
    link = await helpdesk_links.find(pool, await subscription_id(pool), case_id)
    assert link is not None and link.external_id == str(ticket_id)
    assert link.url == f"{zd.url}/agent/tickets/{ticket_id}"
    async with pool.acquire() as conn:
        shown = await case_tickets_of(conn, case_id)
    assert shown == [("zendesk", str(ticket_id), link.url)]


async def subscription_id(db: asyncpg.Pool) -> int:
    found = await store.find_subscription(db, "helpdesk")
    assert found is not None
    return found.id


async def case_tickets_of(conn: Connection, case_id: int) -> list[tuple[str, str, str]]:
    return [(t.system, t.ticket_id, t.url) for t in await case_tickets(conn, case_id)]


async def test_a_change_waits_for_its_ticket(owner: asyncpg.Pool, pool: asyncpg.Pool) -> None:
    async with running_zendesk() as zd:
        await subscribe(pool, zd)
        case_id = await open_case(owner)
        opening = await opened(owner, case_id)
        claimed = await act(pool, cases.claim, case_id, await ana(owner))
        zd.fail_next(503, 503)
        # The claim is recorded first (the two topics are read in no set order).
        await record(pool, outbound(claimed))
        await record(pool, opening)
        async with running_dispatcher(pool, policy=QUICK):
            assert await eventually(lambda: all_delivered(pool, 2), timeout=30)
    assert len(zd.tickets) == 1
    assert [call.method for call in zd.calls] == ["POST", "POST", "POST", "PUT"]
    rows = {row.event_type: row for row in await store.list_deliveries(pool, "helpdesk")}
    assert rows["case.claimed"].attempts == 1  # it waited; it never failed
    assert rows["case.opened"].attempts == 3


async def test_zendesk_refusals_are_dead_letters_in_its_own_words(
    owner: asyncpg.Pool, pool: asyncpg.Pool
) -> None:
    async with running_zendesk() as zd:
        await subscribe(pool, zd)
        bad = Customer(id="c-9", name="Lee", email="lee-at-example")
        unaddressable = await open_case(owner, customer=bad)
        good = await open_case(owner)
        await record(pool, await opened(owner, unaddressable), await opened(owner, good))
        async with running_dispatcher(pool, policy=QUICK):
            assert await eventually(lambda: states(pool, {"dead", "delivered"}), timeout=30)
            ((ticket_id, _),) = zd.tickets.items()
            del zd.tickets[ticket_id]  # deleted in Zendesk meanwhile
            claimed = await act(pool, cases.claim, good, await ana(owner))
            await record(pool, outbound(claimed))
            assert await eventually(lambda: dead_count(pool, 2), timeout=30)
    dead = await store.list_deliveries(pool, "helpdesk", status="dead")
    errors = sorted(row.last_error or "" for row in dead)
    assert errors[0].startswith("HTTP 404: RecordNotFound - Not found")
    assert "HTTP 422: RecordInvalid" in errors[1]
    assert "Requester: Email is not properly formatted" in errors[1]
    assert all(row.attempts == 1 for row in dead)  # refused at once, not retried


async def test_a_wrong_token_is_a_dead_letter(owner: asyncpg.Pool, pool: asyncpg.Pool) -> None:
    async with running_zendesk() as zd:
        await subscribe(pool, zd, token="not-the-token")
        case_id = await open_case(owner)
        await record(pool, await opened(owner, case_id))
        async with running_dispatcher(pool, policy=QUICK):
            assert await eventually(lambda: dead_count(pool, 1), timeout=30)
    (dead,) = await store.list_deliveries(pool, "helpdesk", status="dead")
    assert dead.last_error == "HTTP 401: Couldn't authenticate you"
    assert zd.tickets == {}


async def test_the_signing_secret_is_kept_beside_the_token(pool: asyncpg.Pool) -> None:
    async with running_zendesk() as zd:
        subscription = await subscribe(pool, zd)
    assert subscription.secrets == (zd.token, SIGNING_SECRET)
    assert await service.set_zendesk_signing_secret(pool, "helpdesk", "rotated-in-zendesk", CLEAR)
    found = await store.find_subscription(pool, "helpdesk")
    assert found is not None and found.secrets == (zd.token, "rotated-in-zendesk")
    with pytest.raises(service.NotAWebhook):  # the two are not a rotation to retire
        await service.retire_old_secrets(pool, "helpdesk")
    with pytest.raises(ValueError, match=r"not queue\.unwatched"):
        await service.subscribe(
            pool,
            name="paging",
            channel=Channel.ZENDESK,
            url=f"{zd.url}/?email={zd.email}",
            event_types=[EventType.QUEUE_UNWATCHED],
            credential=zd.token,
            policy=LOOPBACK,
            box=CLEAR,
        )


async def states(db: asyncpg.Pool, wanted: set[str]) -> bool:
    return {row.status for row in await store.list_deliveries(db, "helpdesk")} == wanted


async def dead_count(db: asyncpg.Pool, count: int) -> bool:
    return len(await store.list_deliveries(db, "helpdesk", status="dead")) == count


def signed(body: dict[str, Any], *, secret: str = SIGNING_SECRET, age: float = 0) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    stamp = timestamp_of(datetime.now(UTC) - timedelta(seconds=age))
    headers = {
        "content-type": "application/json",
        "x-zendesk-webhook-signature": sign(secret.encode(), stamp, raw),
        "x-zendesk-webhook-signature-timestamp": stamp,
    }
    return {"content": raw, "headers": headers}


async def test_a_ticket_solved_in_zendesk_resolves_the_case_without_a_loop(
    infra_env: dict[str, Any],
) -> None:
    async with running_desk(infra_env) as desk, running_zendesk() as zd:
        pool = desk.pool
        await subscribe(pool, zd)
        case_id = await desk.case()
        await record(pool, await opened(pool, case_id))
        async with running_dispatcher(pool, policy=QUICK):
            assert await eventually(lambda: all_delivered(pool, 1), timeout=30)
        ((ticket_id, _),) = zd.tickets.items()
        agent = await ana(pool)
        claimed = await act(pool, cases.claim, case_id, agent)
        hook = f"{desk.url}/webhooks/zendesk/helpdesk"
        change = {"ticket_id": str(ticket_id), "status": "solved", "assignee_email": "",
                  "updated_by": "lead@acme.test"}  # fmt: skip

        # Solved while our case is only claimed: the workflow does not allow it yet.
        early = await desk.http.post(hook, **signed(change))
        assert early.status_code == 200, early.text
        assert early.json()["applied"] == [] and "the case is claimed" in early.json()["ignored"][0]

        # Forged or replayed requests change nothing.
        assert (await desk.http.post(hook, **signed(change, secret="guess"))).status_code == 401
        assert (await desk.http.post(hook, **signed(change, age=600))).status_code == 401
        assert (await desk.http.post(hook, content=b"{}")).status_code == 401
        assert (await desk.http.post(f"{hook}-x", **signed(change))).status_code == 404

        reached = await act(
            pool,
            partial(cases.log_attempt, channel="phone", outcome=AttemptOutcome.REACHED, note=""),
            case_id,
            agent,
        )
        reopened_ticket = {**change, "status": "open", "assignee_email": "lee@acme.test"}
        moved = await desk.http.post(hook, **signed(reopened_ticket))
        assert moved.json()["applied"] == ["note_added"]
        solved = await desk.http.post(hook, **signed(change))
        assert solved.status_code == 200, solved.text
        assert solved.json()["applied"] == ["resolved"]
        card = await pool.fetchrow("SELECT status FROM recovery_cases WHERE id = $1", case_id)
        assert card is not None and card["status"] == "resolved"
        # The case API (and so the case panel) links to the ticket.
        reader = await desk.agent("reader", Role.SUPERVISOR, queues=())
        detail = (await desk.call("GET", f"/api/cases/{case_id}", reader)).json()
        assert detail["tickets"] == [
            {"system": "zendesk", "ticket_id": str(ticket_id),
             "url": f"{zd.url}/agent/tickets/{ticket_id}"}
        ]  # fmt: skip
        history = await cases.get_history(pool, case_id)
        assert [e.actor for e in history[-2:]] == ["zendesk:helpdesk"] * 2
        assert "assigned to lee@acme.test" in history[-2].data["text"]

        # Our own update coming back is ignored.
        ours = await desk.http.post(hook, **signed({**change, "updated_by": zd.email}))
        assert ours.json() == {"case_id": case_id, "applied": [],
                               "ignored": ["our own update coming back"]}  # fmt: skip

        # The case's changes, the resolution from Zendesk included, reach the outbound sync
        # late: the ticket already shows more than they say, so nothing is sent back.
        requests_before = len(zd.calls)
        row = await pool.fetchrow("SELECT * FROM case_cards WHERE case_id = $1", case_id)
        assert row is not None
        after = CaseCard.model_validate(dict(row))
        back = from_change(CaseChanged(case=after, change=history[-1]))
        await record(pool, outbound(claimed), outbound(reached), back)
        async with running_dispatcher(pool, policy=QUICK):
            assert await eventually(lambda: all_delivered(pool, 3), timeout=30)
    assert zd.calls[requests_before:] == []
