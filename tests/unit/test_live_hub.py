"""The hub's fan-out: one frame object for every console, and a stalled console holds nobody up.

The frame is serialised once per message (``live.feed``) and wrapped once by the hub (its text,
audience, publish moment and the ASGI message the senders write); the very same object is
queued for each console, and the audience is decided once per view, not per console. Each
console's mailbox is bounded, so one that stops reading is dropped (and reconnects to
resynchronise) instead of growing without bound or making others wait.
"""

from __future__ import annotations

import pytest

from winback_notifier.live import hub as hub_module
from winback_notifier.live.hub import AlertHub, Frame, Resync, View, sees
from winback_shared.agents import Agent, Role

ANA = Agent(id=1, name="ana", role=Role.AGENT, queues=frozenset({"alpha"}))


def test_one_frame_object_is_queued_for_every_console_that_may_see_it() -> None:
    hub = AlertHub(4)
    consoles = [hub.subscribe(ANA) for _ in range(1000)]
    elsewhere = hub.subscribe(Agent(id=2, name="ben", role=Role.AGENT, queues=frozenset({"b"})))
    text = '{"type":"case.opened","case":{"case_id":1}}'

    hub.publish(text, frozenset({"alpha"}))

    queued = [console.queue.get_nowait() for console in consoles]
    frame = queued[0]
    assert isinstance(frame, Frame) and frame == text
    assert all(item is frame for item in queued)  # one object, one ASGI message, for all
    assert frame.message == {"type": "websocket.send", "text": text}
    assert elsewhere.queue.empty()


def test_the_audience_is_decided_once_per_view_not_per_console(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub = AlertHub(4)
    ben = Agent(id=2, name="ben", role=Role.AGENT, queues=frozenset({"alpha", "beta"}))
    sue = Agent(id=3, name="sue", role=Role.SUPERVISOR, queues=frozenset())
    for agent in (ANA, ben, sue, ANA, ben, sue) * 100:  # 600 consoles, three views
        hub.subscribe(agent)
    checks: list[object] = []

    def counted(view: View, audience: frozenset[str] | None) -> bool:
        checks.append(view)
        return sees(view, audience)

    monkeypatch.setattr(hub_module, "sees", counted)
    hub.publish("for alpha", frozenset({"alpha"}))

    assert len(checks) == 3
    assert hub.watching(["alpha", "beta", "gamma"]) == {"alpha": 600, "beta": 400, "gamma": 200}


def test_a_console_whose_agent_changes_is_filed_under_its_new_view() -> None:
    hub = AlertHub(4)
    console = hub.subscribe(ANA)
    console.agent = Agent(id=1, name="ana", role=Role.AGENT, queues=frozenset({"beta"}))

    hub.publish("for alpha", frozenset({"alpha"}))
    hub.publish("for beta", frozenset({"beta"}))

    assert console.queue.get_nowait() == "for beta" and console.queue.empty()
    hub.unsubscribe(console)
    console.agent = ANA  # after it left: nothing to refile, nothing sent
    hub.publish("for alpha", frozenset({"alpha"}))
    assert console.queue.empty() and hub.size == 0


def test_a_console_that_stops_reading_is_dropped_and_the_others_get_every_frame() -> None:
    hub = AlertHub(3)
    stalled, reading = hub.subscribe(ANA), hub.subscribe(ANA)
    received: list[str | Resync] = []
    for number in range(10):
        hub.publish(f"frame {number}", frozenset({"alpha"}))  # never waits for anyone
        received.append(reading.queue.get_nowait())  # this console keeps up

    assert received == [f"frame {number}" for number in range(10)]
    assert stalled.overflowed.is_set() and reading.overflowed.is_set() is False
    assert stalled.queue.qsize() == 3  # bounded: nothing queued past its limit
    assert hub.size == 1


def test_agents_on_counts_distinct_agents_of_each_queue_not_supervisors() -> None:
    """The staffing forecast compares this with the agents needed: two consoles of one agent
    are one agent, a supervisor's console (every queue, the ops page) is nobody's staff."""
    hub = AlertHub(queue_size=4)
    hub.subscribe(ANA)
    hub.subscribe(ANA)  # a second tab
    hub.subscribe(Agent(id=2, name="ben", role=Role.AGENT, queues=frozenset({"alpha", "beta"})))
    hub.subscribe(Agent(id=3, name="sue", role=Role.SUPERVISOR, queues=frozenset()))
    hub.subscribe()  # a console without an agent (tests, the load harness)
    assert hub.agents_on(["alpha", "beta", "gamma"]) == {"alpha": 2, "beta": 1, "gamma": 0}
    assert hub.watching(["gamma"]) == {"gamma": 2}  # consoles that *see* it: not the same thing
