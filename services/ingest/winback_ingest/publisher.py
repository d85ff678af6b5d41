"""Publishing accepted deliveries to Kafka, bounded in time.

A 202 promises the delivery will become a record; that promise holds only once the broker has
acknowledged the write, so the request awaits the acknowledgement, but never longer than the
configured timeout: past it the vendor is told to retry instead of hanging.

Which failures become that "retry later" is wider here than the shared definition of transient
errors (:mod:`winback_shared.transient`), on purpose: every ``KafkaError`` means Kafka did not
take the delivery, and the vendor, which still holds it, retries a 503. So a refusal that is not
transient (a record too large, a topic the service may not write) is answered 503 as well, but
also logged at error, since retrying will not cure it.

**A 503 means "unconfirmed", not "not taken".** Once ``send`` has handed the record to the
producer, nothing can take it back: aiokafka has no delivery timeout (a batch expires only while
its partition has no known leader; one waiting for a broker that went away is sent when the
broker returns), and a produce request already on the wire whose answer is lost may have been
written. A fault run saw it: 114 deliveries answered 503 in the first seconds of a broker outage
were stored when the broker came back. Abandoning the write before answering was the other
choice, and no client can promise it; so the answer says what is true instead: the delivery may
still land, retry it. The retry is safe: the producer is idempotent (no duplicate from its own
retries) and the router keeps one response and one case per source and response id, so a
delivery stored twice is one response, revised if its content changed. A vendor that never
retries loses nothing either: what lands is processed as any delivery.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from winback_shared.events.survey_received import SurveyReceived
from winback_shared.kafka import broker_answers
from winback_shared.transient import is_transient

log = logging.getLogger("winback.ingest")


DELIVERY_HEADER = "Winback-Delivery"
"""The header on a 503 that says what became of the delivery."""
UNCONFIRMED = "unconfirmed"
UNCONFIRMED_MESSAGE = (
    "the event log did not confirm the delivery in time; it may still be stored. Retry it "
    "unchanged: the same response again never opens a second case"
)


PRODUCE_BATCH_BYTES = 256 * 1024
"""The most one partition's next batch may hold (aiokafka's default is 16 KB).

The idempotent producer keeps one batch in flight per broker connection; the deliveries that
arrive meanwhile wait in the next one, and past this cap a delivery waits a further round trip
before it can even be queued. At 16 KB that was about ten 1.5 KB envelopes: with 32 senders
ingest stalled on full batches (its 202 p99 at 0.4-1 s, throughput 0.6x; docs/performance.md,
section 6). 256 KB holds what arrives in a round trip at several thousand deliveries a second
and stays well under the broker's 1 MB limit on one batch. It is a cap, not a wait: with
``linger_ms=0`` nothing waits for a batch to fill.
"""


class BrokerUnavailable(Exception):
    """Kafka did not acknowledge in time: the delivery is unconfirmed (it may still land)."""


class DeliveryPublisher:
    """Publishes ``SurveyReceived`` envelopes keyed by source and vendor response id."""

    def __init__(self, producer: AIOKafkaProducer, topic: str, timeout_seconds: float) -> None:
        self._producer = producer
        self._topic = topic
        self._timeout = timeout_seconds

    async def publish(self, envelope: SurveyReceived, response_key: str) -> None:
        """Return once Kafka acknowledged; raise ``BrokerUnavailable`` otherwise."""
        key = f"{envelope.source}:{response_key}".encode()
        try:
            async with asyncio.timeout(self._timeout):
                await self._producer.send_and_wait(self._topic, envelope.to_bytes(), key=key)
        except Exception as exc:
            if not is_transient(exc):
                if not isinstance(exc, KafkaError):
                    raise
                log.error("Kafka refused a delivery", extra={"fields": {"error": repr(exc)}})
            raise BrokerUnavailable(type(exc).__name__) from exc

    async def is_connected(self) -> bool:
        """Whether a broker answers a metadata request now (for ``/readyz``)."""
        return await broker_answers(self._producer.client)
