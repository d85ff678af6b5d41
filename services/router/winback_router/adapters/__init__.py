"""Vendor adapters: a ``SurveyReceived`` envelope in, a canonical ``SurveyResponse`` out.

Adapters are functions of the envelope, the source's configuration and (for vendors that post
only ids) the vendor's API. What they cannot make sense of raises ``InvalidPayload``, which the
consumer dead-letters: it would fail the same way on every retry until the adapter or the field
map is fixed, and then the dead letter is replayed.
"""

from __future__ import annotations

from winback_router.adapters.base import (
    Adapter,
    AdapterContext,
    InvalidPayload,
    NotASurveyResponse,
)
from winback_router.adapters.delighted import DelightedAdapter
from winback_router.adapters.formbricks import FormbricksAdapter
from winback_router.adapters.generic import GenericAdapter
from winback_router.adapters.qualtrics import QualtricsAdapter
from winback_router.adapters.surveymonkey import SurveyMonkeyAdapter
from winback_router.adapters.typeform import TypeformAdapter
from winback_router.adapters.vendor_api import VendorRejected, VendorUnavailable
from winback_router.adapters.zendesk import ZendeskAdapter
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.sources import Sources, Vendor
from winback_shared.survey import SurveyResponse

ADAPTER_BUG = "adapter failed unexpectedly"

ADAPTERS: dict[Vendor, Adapter] = {
    Vendor.GENERIC: GenericAdapter(),
    Vendor.TYPEFORM: TypeformAdapter(),
    Vendor.DELIGHTED: DelightedAdapter(),
    Vendor.ZENDESK: ZendeskAdapter(),
    Vendor.FORMBRICKS: FormbricksAdapter(),
    Vendor.SURVEYMONKEY: SurveyMonkeyAdapter(),
    Vendor.QUALTRICS: QualtricsAdapter(),
}


async def normalise(
    envelope: SurveyReceived, sources: Sources, context: AdapterContext
) -> SurveyResponse:
    """Dispatch to the source's vendor adapter and stamp what ingest knows."""
    source = sources.get(envelope.source)
    if source is None:
        raise InvalidPayload(f"source {envelope.source!r} is not configured in the router")
    if source.vendor.value != envelope.vendor:
        raise InvalidPayload(
            f"source {envelope.source!r} is now {source.vendor.value}, but this delivery was "
            f"accepted as {envelope.vendor}"
        )
    adapter = ADAPTERS.get(source.vendor)
    if adapter is None:
        raise InvalidPayload(f"no adapter for vendor {source.vendor.value!r}")
    try:
        body = await adapter.normalise(envelope, source, context)
    except VendorRejected as exc:
        raise InvalidPayload(f"{source.vendor.value} API: {exc}") from None
    except (InvalidPayload, NotASurveyResponse, VendorUnavailable):
        raise
    except Exception as exc:
        # A bug in an adapter must cost one dead letter (replayable once fixed), not stop the
        # router for everyone. The fuzz test fails on any dead letter with this message.
        raise InvalidPayload(
            f"{ADAPTER_BUG}: the {source.vendor.value} adapter raised {type(exc).__name__}: {exc}"
        ) from exc
    # The body's fields as they are (its models already validated, so pydantic keeps them
    # as they are) instead of a dump that would be validated again, model by model.
    return SurveyResponse.model_validate(
        {
            **dict(body),
            "source": envelope.source,
            "vendor": envelope.vendor,
            "receipt_id": envelope.receipt_id,
            "received_at": envelope.occurred_at,
        }
    )


__all__ = [
    "ADAPTERS",
    "ADAPTER_BUG",
    "AdapterContext",
    "InvalidPayload",
    "NotASurveyResponse",
    "normalise",
]
