"""The fault harness: a private stack under steady load while its pieces are killed in turn.

``python -m winback_local.chaos`` (see ``docs/fault-harness.md``). Modules, one job each:
:mod:`.plan` (which faults, when), :mod:`.load` (signed vendor deliveries with retries),
:mod:`.console` (a websocket console that reconnects), :mod:`.faults` (kill and restart each
piece), :mod:`.tally` (what was lost, doubled or never shown) and :mod:`.run` (all together).
"""
