"""Microsoft Teams through a Workflows (Power Automate) webhook, with an Adaptive Card.

The "When a Teams webhook request is received" trigger takes a ``message`` whose
``attachments`` hold one Adaptive Card (``application/vnd.microsoft.card.adaptive``); the card
here has the headline, a fact set and an "Open the case" button. The trigger answers
``202 Accepted``; ``429`` (with ``Retry-After``) and 5xx are retried; other 4xx (a malformed
card, a deleted or disabled flow) are refused at once, replayable once fixed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from winback_notifier.outbound.channels.base import (
    Context,
    Delivery,
    OutboundRequest,
    Outcome,
    judge_status,
)
from winback_notifier.outbound.channels.message import chat_message

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


class TeamsChannel:
    """Teams workflow-webhook messages."""

    def build(self, delivery: Delivery, context: Context) -> OutboundRequest:
        """The message POST."""
        message = chat_message(delivery, context)
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [
                {
                    "type": "TextBlock",
                    "text": message.headline,
                    "weight": "Bolder",
                    "size": "Medium",
                    "wrap": True,
                },
                {
                    "type": "FactSet",
                    "facts": [{"title": name, "value": value} for name, value in message.facts],
                },
            ],
            "actions": [{"type": "Action.OpenUrl", "title": "Open the case", "url": message.link}],
        }
        payload = {
            "type": "message",
            "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}],
        }
        return OutboundRequest(
            url=context.subscription.url,
            body=json.dumps(payload).encode(),
            headers={"content-type": "application/json"},
        )

    def judge(self, status: int, headers: Mapping[str, str], body: str) -> Outcome:
        """2xx delivered; 429 and 5xx retried; other errors refused."""
        return judge_status(status, headers, body, client_errors_final=True)
