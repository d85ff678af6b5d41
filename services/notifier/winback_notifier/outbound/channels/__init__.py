"""One adapter per channel: how a delivery becomes a request and how the answer is read."""

from __future__ import annotations

from winback_notifier.outbound.channels.base import ChannelAdapter
from winback_notifier.outbound.channels.pagerduty import PagerDutyChannel
from winback_notifier.outbound.channels.slack import SlackChannel
from winback_notifier.outbound.channels.teams import TeamsChannel
from winback_notifier.outbound.channels.webhook import WebhookChannel
from winback_notifier.outbound.subscriptions import Channel

ADAPTERS: dict[Channel, ChannelAdapter] = {
    Channel.WEBHOOK: WebhookChannel(),
    Channel.SLACK: SlackChannel(),
    Channel.TEAMS: TeamsChannel(),
    Channel.PAGERDUTY: PagerDutyChannel(),
}
"""Every channel's adapter; a new channel is a module here and an entry here."""
