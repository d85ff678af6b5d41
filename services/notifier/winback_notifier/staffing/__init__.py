"""Staffing: how many agents each queue needs, hour by hour, to meet the contact targets.

``erlang`` is the queueing model (pure), ``forecast`` applies it to a history of arrivals and
handling times (pure), ``history`` reads that history from PostgreSQL, ``simulate`` replays a
day against agent bots to check the forecast (CLI: ``python -m winback_notifier.staffing``).
"""
