"""A survey vendor at a steady rate: signed detractor deliveries, some of them sent again.

Vendors retry. Two kinds are mixed in, as real ones do:

* a delivery answered 202 is sometimes sent again, byte for byte (the vendor missed the answer);
* a delivery answered 503 (or whose connection failed) is retried by a *persistent* vendor until
  it gets a 202, and abandoned by the others, so that a 503 whose delivery is stored anyway
  shows up in the tally.

Every attempt is recorded with its wall-clock send and answer times, so recovery after a fault
can be read off the attempts afterwards.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx

from winback_local.signing import sample_response, signed_request

DETRACTOR_NPS = 2
DETRACTOR_REASON = "agent lacked product knowledge"
RETRY_AFTER_CAP_SECONDS = 2.0
IN_FLIGHT_LIMIT = 256


@dataclass
class Attempt:
    """One POST: when it left, when its answer came, and the answer (status or error name)."""

    sent_at: float
    answered_at: float
    outcome: str

    @property
    def accepted(self) -> bool:
        """Answered 202."""
        return self.outcome == "202"


@dataclass
class Delivery:
    """One survey response as the vendor holds it, with every attempt to deliver it."""

    response_id: str
    body: bytes
    headers: dict[str, str]
    persistent: bool
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """Some attempt was answered 202."""
        return any(a.accepted for a in self.attempts)


@dataclass(frozen=True)
class VendorHabits:
    """Shares of deliveries re-sent after a 202, and retried after a refusal."""

    resend_share: float = 0.1
    persistent_share: float = 0.5


class Vendor:
    """Posts new deliveries at ``rate`` per second until stopped, plus the retries."""

    def __init__(
        self, webhook_url: str, secret: str, rate: float, habits: VendorHabits, seed: int = 15
    ) -> None:
        self.webhook_url = webhook_url
        self.secret = secret
        self.rate = rate
        self.habits = habits
        self.deliveries: list[Delivery] = []
        self._random = random.Random(seed)
        self._in_flight = asyncio.Semaphore(IN_FLIGHT_LIMIT)
        self._tasks: set[asyncio.Task[None]] = set()

    def new_delivery(self) -> Delivery:
        """A fresh signed detractor response."""
        payload = sample_response(nps=DETRACTOR_NPS, reasons=[DETRACTOR_REASON])
        body, headers = signed_request(self.secret, payload)
        persistent = self._random.random() < self.habits.persistent_share
        delivery = Delivery(payload["response_id"], body, headers, persistent)
        self.deliveries.append(delivery)
        return delivery

    async def run(self, stop: asyncio.Event) -> None:
        """Send at the steady rate until ``stop``; then wait for what is in flight."""
        limits = httpx.Limits(max_connections=IN_FLIGHT_LIMIT, max_keepalive_connections=64)
        async with httpx.AsyncClient(limits=limits, timeout=30, trust_env=False) as http:
            started = time.monotonic()
            sent = 0
            while not stop.is_set():
                due = started + sent / self.rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                await self._in_flight.acquire()
                self._spawn(self._deliver(http, self.new_delivery()))
                sent += 1
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, http: httpx.AsyncClient, delivery: Delivery) -> None:
        """First attempt, then the vendor's habit: re-send, retry or give up."""
        try:
            outcome, retry_after = await self._attempt(http, delivery)
        finally:
            self._in_flight.release()
        if outcome == "202":
            if self._random.random() < self.habits.resend_share:
                await asyncio.sleep(1.0)
                await self._attempt(http, delivery)
            return
        while delivery.persistent and outcome != "202":
            await asyncio.sleep(retry_after)
            outcome, retry_after = await self._attempt(http, delivery)

    async def _attempt(self, http: httpx.AsyncClient, delivery: Delivery) -> tuple[str, float]:
        """POST the delivery's exact bytes; the outcome and how long to wait before a retry."""
        sent_at = time.time()
        retry_after = 1.0
        try:
            response = await http.post(
                self.webhook_url, content=delivery.body, headers=delivery.headers
            )
            outcome = str(response.status_code)
            if "retry-after" in response.headers:
                retry_after = min(RETRY_AFTER_CAP_SECONDS, float(response.headers["retry-after"]))
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        delivery.attempts.append(Attempt(sent_at, time.time(), outcome))
        return outcome, retry_after
