"""Sending what the delivery table owes: one worker per endpoint, each at its own pace.

Each enabled subscription gets a worker task with its own circuit breaker and at most
``max_in_flight`` requests at once (an e-mail subscription sends one digest of everything due
instead, then waits: :mod:`winback_notifier.outbound.digest`). A worker leases its due rows
(``store.lease_due``), sends them concurrently, and records each outcome: delivered; failed,
due again after a backoff (``RetryPolicy``, ``Retry-After`` as a floor); or dead once attempts
run out or the endpoint refused it for good. A dead endpoint therefore costs only its own
worker's time: its circuit opens, it leases nothing while open, and the other workers never
wait on it.

Safety: a worker opens the subscription's sealed secrets only to send
(:mod:`winback_notifier.outbound.sealing`), checks its URL against the target policy on every
attempt and connects only to checked addresses (:mod:`winback_notifier.outbound.guarded_http`):
a blocked target, or a redirect (never followed), is a dead letter saying why, not a retry.

Guarantees: a delivery is sent at least once: it is marked delivered only after a 2xx (an
accepted SMTP message), and a
lease that is not followed by a mark (a crash, PostgreSQL down) comes due again by itself.
Every attempt of a delivery carries the same ``webhook-id``. Several outbound instances may run:
leases use ``SKIP LOCKED``, so each due row goes to one of them at a time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import httpx

from winback_notifier.outbound import store
from winback_notifier.outbound.channels import ADAPTERS
from winback_notifier.outbound.channels.base import (
    Context,
    Delivery,
    OutboundRequest,
    Outcome,
    Verdict,
)
from winback_notifier.outbound.digest import (
    DIGEST_MAX,
    check_mail_endpoint,
    digest_message,
    send_digest,
)
from winback_notifier.outbound.metrics import (
    OUTBOUND_ATTEMPT_SECONDS,
    OUTBOUND_ATTEMPTS,
    OUTBOUND_CIRCUIT_OPEN,
)
from winback_notifier.outbound.retry import BreakerState, CircuitBreaker, RetryPolicy
from winback_notifier.outbound.sealing import SealError, SecretBox
from winback_notifier.outbound.subscriptions import Channel, Subscription
from winback_notifier.outbound.targets import EndpointError, TargetPolicy
from winback_shared.transient import is_transient

log = logging.getLogger("winback.outbound")

DB_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class SenderConfig:
    """How senders try (``OutboundSettings.sender_config`` reads it from the environment)."""

    policy: RetryPolicy
    console_url: str
    breaker_failures: int = 5
    breaker_cooldown: float = 30.0
    lease_seconds: float = 60.0
    poll_seconds: float = 5.0
    timeout: float = 10.0
    digest_seconds: float = 900.0
    targets: TargetPolicy = field(default_factory=TargetPolicy)
    """Where deliveries may go (the client's guard checks resolved addresses with the same)."""
    secret_box: SecretBox = field(default_factory=SecretBox)
    """Opens the subscriptions' sealed URLs and secrets."""


class EndpointWorker:
    """Sends one subscription's deliveries (a subscription edited gets a new worker)."""

    def __init__(
        self,
        subscription: Subscription,
        *,
        pool: asyncpg.Pool,
        client: httpx.AsyncClient,
        config: SenderConfig,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.subscription = subscription
        self._pool = pool
        self._client = client
        self._config = config
        self._policy = config.policy
        self.breaker = CircuitBreaker(config.breaker_failures, config.breaker_cooldown)
        self._clock = clock
        self._wake = asyncio.Event()

    def nudge(self) -> None:
        """Look at the table now (new deliveries were recorded)."""
        self._wake.set()

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), max(0.0, seconds))
        except TimeoutError:
            pass
        self._wake.clear()

    async def run(self) -> None:
        """Deliver until cancelled."""
        while True:
            try:
                await self.round()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning(
                    "outbound delivery round failed; retrying",
                    extra={"fields": {"subscription": self.subscription.name, "error": repr(exc)}},
                )
                await asyncio.sleep(DB_RETRY_SECONDS)

    async def round(self) -> None:
        """Send one batch of due deliveries, or sleep until some may be due."""
        now = self._clock()
        wait = self.breaker.wait(now)
        OUTBOUND_CIRCUIT_OPEN.labels(self.subscription.name).set(1 if wait > 0 else 0)
        if wait > 0:
            await asyncio.sleep(wait)
            return
        digest = self.subscription.channel is Channel.EMAIL
        wanted = DIGEST_MAX if digest else self.subscription.max_in_flight
        limit = self.breaker.allowed(now, wanted)
        due = await store.lease_due(
            self._pool, self.subscription.id, limit, self._config.lease_seconds
        )
        if not due:
            until = await store.seconds_until_due(self._pool, self.subscription.id)
            await self._sleep(
                self._config.poll_seconds
                if until is None
                else min(until, self._config.poll_seconds)
            )
            return
        if not digest:
            await self.send_batch(due)
            return
        outcome = await self.send_digest(due)
        self._count(outcome)
        # One message failed, so its events retry together: one backoff for the digest, not a
        # jittered one each (they would come due apart, and the first alone would make the next
        # digest, the others waiting out the pause after it).
        # One transaction, so now() and thus their next attempt is the same instant.
        together = self._policy.delay(max(d.attempts for d in due) + 1, outcome.retry_after)
        async with self._pool.acquire() as conn, conn.transaction():
            for delivery in due:
                await self.record(delivery, outcome, retry_in=together, db=conn)
        if outcome.verdict is Verdict.DELIVERED:
            # What is recorded meanwhile makes the next digest.
            await asyncio.sleep(self._config.digest_seconds)

    async def send_batch(self, due: list[Delivery]) -> None:
        """Send leased deliveries, all at once (a helpdesk's worker orders them per case)."""
        await asyncio.gather(*(self.deliver(delivery) for delivery in due))

    def _opened(self) -> Subscription | Outcome:
        """The subscription with its secrets in clear, or why nothing can be sent: a key that
        does not fit is retried (a key being rolled out), a blocked URL is refused for good."""
        try:
            subscription = self._config.secret_box.open_subscription(self.subscription)
            if subscription.channel is not Channel.EMAIL:
                self._config.targets.check_url(subscription.url)
        except SealError as exc:
            return Outcome(Verdict.RETRY, None, str(exc))
        except EndpointError as exc:
            return Outcome(Verdict.REFUSED, None, f"blocked: {exc}")
        return subscription

    async def send_digest(self, deliveries: list[Delivery]) -> Outcome:
        """One e-mail for all of ``deliveries``."""
        subscription = self._opened()
        if isinstance(subscription, Outcome):
            return subscription
        endpoint = check_mail_endpoint(subscription.url)
        context = Context(subscription, datetime.now(UTC), self._config.console_url)
        message = digest_message(deliveries, context, endpoint, context.now)
        password = subscription.secrets[0] if subscription.secrets else None
        started = time.perf_counter()
        try:
            return await send_digest(
                endpoint, password, message, self._config.timeout, self._config.targets
            )
        finally:
            OUTBOUND_ATTEMPT_SECONDS.labels(self.subscription.channel).observe(
                time.perf_counter() - started
            )

    async def attempt(self, delivery: Delivery) -> Outcome:
        """One attempt, read by the channel; transport failures are a retry, a blocked address
        or a redirect a refusal (dead letter with the reason)."""
        subscription = self._opened()
        if isinstance(subscription, Outcome):
            return subscription
        adapter = ADAPTERS[subscription.channel]
        context = Context(subscription, datetime.now(UTC), self._config.console_url)
        answer = await self.exchange(adapter.build(delivery, context))
        if isinstance(answer, Outcome):
            return answer
        return adapter.judge(answer.status_code, answer.headers, answer.text)

    async def exchange(self, request: OutboundRequest) -> httpx.Response | Outcome:
        """Make ``request`` through the guarded client: its answer, or the outcome without one
        (a transport failure is a retry; an address the policy blocks once resolved, or a
        redirect, which is never followed, is a refusal saying why). Every request to an
        endpoint goes through here, a helpdesk worker's too."""
        started = time.perf_counter()
        try:
            response = await self._client.request(
                request.method, request.url, content=request.body or None, headers=request.headers
            )
        except EndpointError as exc:  # raised by the guarded client for a resolved address
            return Outcome(Verdict.REFUSED, None, f"blocked: {exc}")
        except httpx.HTTPError as exc:
            return Outcome(Verdict.RETRY, None, f"{type(exc).__name__}: {exc}"[:300])
        finally:
            OUTBOUND_ATTEMPT_SECONDS.labels(self.subscription.channel).observe(
                time.perf_counter() - started
            )
        if response.is_redirect:
            where = response.headers.get("location", "")[:200]
            return Outcome(
                Verdict.REFUSED,
                response.status_code,
                f"HTTP {response.status_code}: redirect to {where!r} not followed; "
                "subscribe the final URL instead",
            )
        return response

    async def deliver(self, delivery: Delivery) -> None:
        """Attempt one delivery and record what became of it."""
        outcome = await self.attempt(delivery)
        self._count(outcome)
        await self.record(delivery, outcome)

    def _count(self, outcome: Outcome) -> None:
        """Tell the circuit breaker how the endpoint answered."""
        if outcome.verdict is Verdict.RETRY:
            self.breaker.failed(self._clock())
        else:
            self.breaker.succeeded()  # a refusal is an answer: it refuses this message only

    async def record(
        self,
        delivery: Delivery,
        outcome: Outcome,
        *,
        retry_in: float | None = None,
        db: store.Executor | None = None,
    ) -> None:
        """Store what became of one delivery: delivered, due again later (after ``retry_in``
        if given, else its own backoff), or dead."""
        attempts = delivery.attempts + 1
        name = self.subscription.name
        if outcome.verdict is Verdict.DELIVERED:
            await store.mark_delivered(db or self._pool, delivery.id, outcome.status)
            OUTBOUND_ATTEMPTS.labels(name, "delivered").inc()
            return
        dead = outcome.verdict is Verdict.REFUSED or self._policy.gives_up(attempts)
        if dead:
            retry_in = None
        elif retry_in is None:
            retry_in = self._policy.delay(attempts, outcome.retry_after)
        await store.mark_failed(
            db or self._pool,
            delivery.id,
            status=outcome.status,
            error=outcome.error or "",
            retry_in=retry_in,
        )
        verdict = "dead" if dead else "retry"
        OUTBOUND_ATTEMPTS.labels(
            name, verdict if outcome.verdict is Verdict.RETRY else "refused"
        ).inc()
        log.warning(
            "outbound delivery failed" + (" for good: dead letter" if dead else "; will retry"),
            extra={
                "fields": {
                    "subscription": name,
                    "webhook_id": delivery.webhook_id,
                    "case_id": delivery.case_id,
                    "attempts": attempts,
                    "status": outcome.status,
                    "error": outcome.error,
                    "retry_in": retry_in,
                    "circuit": self.breaker.state(self._clock()),
                }
            },
        )


def worker_class(channel: Channel) -> type[EndpointWorker]:
    """The worker that sends a channel's deliveries."""
    if channel is Channel.ZENDESK:
        # Imported here: the Zendesk worker is a subclass of this module's worker.
        from winback_notifier.outbound.zendesk_sync import ZendeskWorker

        return ZendeskWorker
    return EndpointWorker


class Dispatcher:
    """Keeps one worker per enabled subscription, in step with the table."""

    def __init__(self, pool: asyncpg.Pool, client: httpx.AsyncClient, config: SenderConfig) -> None:
        self._pool = pool
        self._client = client
        self._config = config
        self.workers: dict[int, tuple[EndpointWorker, asyncio.Task[None]]] = {}
        self._wake = asyncio.Event()
        self.error: BaseException | None = None

    def nudge(self) -> None:
        """New deliveries were recorded: every worker looks now, and subscriptions are reread."""
        self._wake.set()
        for worker, _ in self.workers.values():
            worker.nudge()

    def _start(self, subscription: Subscription) -> None:
        worker = worker_class(subscription.channel)(
            subscription, pool=self._pool, client=self._client, config=self._config
        )
        task = asyncio.create_task(worker.run(), name=f"outbound-{subscription.name}")
        task.add_done_callback(self._worker_done)
        self.workers[subscription.id] = (worker, task)

    def _worker_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None and self.error is None:
            self.error = task.exception()
            self._wake.set()

    async def reconcile(self) -> None:
        """Start workers for new or edited subscriptions, stop those of removed or paused ones.

        An edited subscription's worker is replaced (its circuit starts closed again): an admin
        who fixed a URL wants it tried now.
        """
        current = {s.id: s for s in await store.list_subscriptions(self._pool, enabled_only=True)}
        for subscription_id, (worker, task) in list(self.workers.items()):
            if current.get(subscription_id) != worker.subscription:
                task.cancel()
                del self.workers[subscription_id]
                OUTBOUND_CIRCUIT_OPEN.labels(worker.subscription.name).set(0)
        for subscription_id, subscription in current.items():
            if subscription_id not in self.workers:
                self._start(subscription)

    async def run(self) -> None:
        """Reconcile every ``poll_seconds`` (or when nudged) until cancelled; a worker that
        died of a non-transient error ends this loop with that error."""
        try:
            while True:
                if self.error is not None:
                    raise self.error
                try:
                    await self.reconcile()
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    log.warning(
                        "reading subscriptions failed", extra={"fields": {"error": repr(exc)}}
                    )
                try:
                    await asyncio.wait_for(self._wake.wait(), self._config.poll_seconds)
                except TimeoutError:
                    pass
                self._wake.clear()
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Cancel every worker and wait for them."""
        tasks = [task for _, task in self.workers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.workers.clear()

    def circuits(self, now: float | None = None) -> dict[str, BreakerState]:
        """Each running worker's circuit state, by subscription name."""
        moment = time.monotonic() if now is None else now
        return {
            worker.subscription.name: worker.breaker.state(moment)
            for worker, _ in self.workers.values()
        }
