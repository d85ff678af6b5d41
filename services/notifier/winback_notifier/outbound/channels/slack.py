"""Slack incoming webhooks (https://api.slack.com/messaging/webhooks).

The request is a JSON ``{"text", "blocks"}``: ``text`` is the notification's fallback,
``blocks`` the message (a section in Slack's ``mrkdwn``, the facts, a link to the case). Slack
answers ``200 ok``; its documented errors are ``400 invalid_payload`` / ``no_text``,
``403 action_prohibited`` / ``invalid_token``, ``404 no_service`` / ``no_team`` (the webhook was
revoked), ``410 channel_is_archived``: none gets better by sending the same message again, so
each is refused at once (a dead delivery, replayable once the webhook is fixed). ``429`` (about
one message a second per webhook) carries ``Retry-After`` and is retried after it, as are 5xx.
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


def escape(text: str) -> str:
    """Slack's three control characters, escaped as its formatting rules ask."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackChannel:
    """Slack incoming-webhook messages."""

    def build(self, delivery: Delivery, context: Context) -> OutboundRequest:
        """The message POST."""
        message = chat_message(delivery, context)
        headline = escape(message.headline)
        facts = "\n".join(f"*{escape(name)}:* {escape(value)}" for name, value in message.facts)
        payload = {
            "text": f"{headline}: {message.link}",
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*"}},
                {"type": "section", "text": {"type": "mrkdwn", "text": facts}},
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": f"<{message.link}|Open the case>"},
                },
            ],
        }
        return OutboundRequest(
            url=context.subscription.url,
            body=json.dumps(payload).encode(),
            headers={"content-type": "application/json"},
        )

    def judge(self, status: int, headers: Mapping[str, str], body: str) -> Outcome:
        """200 delivered; 429 and 5xx retried; other errors refused."""
        return judge_status(status, headers, body, client_errors_final=True)
