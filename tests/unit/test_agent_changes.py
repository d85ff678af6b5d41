"""Agent changes without infrastructure: the hub resyncs only that agent, and the event contract."""

from __future__ import annotations

from winback_notifier.live.hub import RESYNC, AlertHub
from winback_shared.agents import Agent, Role
from winback_shared.events.case_events import CASE_EVENT, AgentChanged


def test_the_hub_resyncs_only_that_agents_consoles() -> None:
    hub = AlertHub(2)
    ana = Agent(id=1, name="ana", role=Role.AGENT, queues=frozenset({"alpha"}))
    ben = Agent(id=2, name="ben", role=Role.AGENT, queues=frozenset({"alpha"}))
    first, second, other = hub.subscribe(ana), hub.subscribe(ana), hub.subscribe(ben)
    assert hub.agent_changed(1) == 2
    assert (first.queue.get_nowait(), second.queue.get_nowait()) == (RESYNC, RESYNC)
    assert other.queue.empty() and hub.agent_changes == 1
    # A console too far behind to take the marker is dropped: reconnecting resyncs it.
    hub.publish("one", frozenset({"alpha"}))
    hub.publish("two", frozenset({"alpha"}))
    hub.agent_changed(2)
    assert other.overflowed.is_set() and hub.size == 2


def test_agent_changed_round_trips_and_is_told_from_case_changes() -> None:
    event = AgentChanged(agent_id=7)
    assert CASE_EVENT.validate_json(event.to_bytes()) == event
    assert '"type":"agent.changed"' in event.model_dump_json()
