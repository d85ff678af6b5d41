"""Topic ``survey-responses``: a vendor delivery that ingest authenticated and accepted.

The raw body is kept byte for byte (as text) so an adapter fixed later can re-normalise it, and
so nothing is lost if normalisation fails.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from winback_shared.events.base import Event


class SurveyReceived(Event):
    """Ingest's envelope around one authenticated delivery. ``event_id`` is the receipt id."""

    type: Literal["survey.received"] = "survey.received"
    version: int = 1
    source: str
    vendor: str
    content_type: str
    delivery_id: str | None = Field(
        default=None, description="The vendor's own delivery id (e.g. webhook-id), for tracing."
    )
    body: str

    @property
    def receipt_id(self) -> str:
        """The id ingest returned to the vendor in its 202."""
        return self.event_id
