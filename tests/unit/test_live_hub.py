"""The hub's fan-out: one encoded frame for every console, and a stalled console holds nobody up.

The frame is serialised once per message (``live.feed``) and the very same text object is
queued for each console; each console's queue is bounded, so one that stops reading is dropped
(and reconnects to resynchronise) instead of growing without bound or making others wait.
"""

from __future__ import annotations

from winback_notifier.live.hub import AlertHub, Resync
from winback_shared.agents import Agent, Role

ANA = Agent(id=1, name="ana", role=Role.AGENT, queues=frozenset({"alpha"}))


def test_one_frame_object_is_queued_for_every_console_that_may_see_it() -> None:
    hub = AlertHub(4)
    consoles = [hub.subscribe(ANA) for _ in range(1000)]
    elsewhere = hub.subscribe(Agent(id=2, name="ben", role=Role.AGENT, queues=frozenset({"b"})))
    frame = '{"type":"case.opened","case":{"case_id":1}}'

    hub.publish(frame, frozenset({"alpha"}))

    assert all(console.queue.get_nowait() is frame for console in consoles)
    assert elsewhere.queue.empty()


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
