"""Zendesk satisfaction ratings: a body the admin wrote, read through dotted paths.

A trigger webhook posts whatever JSON the admin typed, with placeholders such as
``{{ticket.id}}`` and ``{{satisfaction.current_rating}}`` filled in, so there is no fixed
format: the body is flattened (``ticket.requester.email``...) and the source's field map says
where each canonical field lives. ``DEFAULT_MAP`` reads the body template documented in
``docs/vendors/zendesk.md``; a source whose body differs overrides the paths it moved.

Legacy Zendesk CSAT is binary, and placeholders render it as text ("Good, I'm satisfied",
"Bad, I'm unsatisfied", in the requester's language), so the default CSAT score is a 0-1
scale reached through ``ScoreField.values``; a rating text not listed there is dead-lettered
with the text in the reason, to be added to the source's ``values`` and replayed.
"""

from __future__ import annotations

from winback_router.adapters.base import (
    AdapterContext,
    build_response,
    flatten,
    json_object,
)
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.sources import FieldMap, SourceConfig
from winback_shared.survey import GenericSurveyResponse

RATING_VALUES = {
    "bad": 0.0,
    "good": 1.0,
    "Bad, I'm unsatisfied": 0.0,
    "Good, I'm satisfied": 1.0,
}
"""Zendesk's rating scores and the English texts its placeholder renders."""

DEFAULT_MAP = FieldMap.model_validate(
    {
        "response_id": "ticket.id",
        "submitted_at": "ticket.updated_at",
        "updated_at": "ticket.updated_at",
        "csat": {"from": "satisfaction.rating", "min": 0, "max": 1, "values": RATING_VALUES},
        "comment": ["satisfaction.comment"],
        "customer_id": "ticket.requester.external_id",
        "customer_name": "ticket.requester.name",
        "customer_email": "ticket.requester.email",
        "customer_phone": "ticket.requester.phone",
        "interaction_id": "ticket.id",
        "interaction_channel": "ticket.via",
        "interaction_agent": "ticket.assignee",
        "interaction_team": "ticket.group",
        "interaction_at": "ticket.created_at",
    }
)
"""Paths of the documented body template."""


class ZendeskAdapter:
    """The flattened body through the source's field map over ``DEFAULT_MAP``."""

    async def normalise(
        self, envelope: SurveyReceived, source: SourceConfig, context: AdapterContext
    ) -> GenericSurveyResponse:
        """The canonical response the admin's body describes."""
        payload = json_object(envelope.body, "zendesk: body")
        return build_response(flatten(payload), source.field_map.over(DEFAULT_MAP))
