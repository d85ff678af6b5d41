"""Outbound deliveries: case events pushed to signed webhooks, Slack and Teams (issue 19).

Runs as its own process, ``python -m winback_notifier.outbound``; the notifier's admin API and
the same module's CLI manage subscriptions. See ``docs/outbound.md``.
"""
