"""Publishing accepted deliveries to Kafka, bounded in time.

A 202 promises the delivery will become a record; that promise holds only once the broker has
acknowledged the write, so the request awaits the acknowledgement, but never longer than the
configured timeout: past it the vendor is told to retry instead of hanging.

Which failures become that "retry later" is wider here than the shared definition of transient
errors (:mod:`winback_shared.transient`), on purpose: every ``KafkaError`` means Kafka did not
take the delivery, and the vendor, which still holds it, retries a 503. So a refusal that is not
transient (a record too large, a topic the service may not write) is answered 503 as well, but
also logged at error, since retrying will not cure it.
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


class BrokerUnavailable(Exception):
    """Kafka did not acknowledge in time; the delivery was not accepted."""


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
