"""CPU per record of the router's work outside coding, stage by stage, in one thread.

    .venv/bin/python scripts/perf/router_stages.py --long-comment
    .venv/bin/python scripts/perf/router_stages.py --long-comment --compare /tmp/main

A measuring aid for ``docs/performance.md`` section 12. ``router_drain.py`` times the router
with Kafka, PostgreSQL and the coding thread all at work on a shared machine, where a change of
a few per cent of the CPU is lost in the swings; this times only the router's own Python around
them, single-threaded, with ``time.process_time`` (best of ``--repeats``), on one batch of
``--batch`` records like ``router_drain.py``'s (``--long-comment``: the whole-stack bench's
comment). The batch is coded once beforehand and the coder reused, so coding is out of the
picture. Stages:

- ``normalise``: every record of the batch normalised as ``RecoveryRouter._prepare`` does it
  (envelope, adapter, response; at most 8 at a time);
- ``store+alert``: ``RecoveryRouter._store_and_alert`` (the store's rows and digests, the
  cases' summaries from their rows, the alerts' encoding, metrics, logging) against a
  ``PostgresBatchStore`` whose pool answers every statement at once with the rows PostgreSQL
  would return (jsonb arriving as text and decoded as the pool's codec does), and a publisher
  that keeps the messages.

What it leaves out: aiokafka's fetch and produce, asyncpg's encoding and the socket work, the
event loop (``router_drain.py`` and py-spy see those). ``--compare DIR`` runs the same in a
child against ``DIR`` (a ``git archive`` of another commit) and prints each stage's ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import router_drain  # the same records as the drain (a sibling script, found via the path)

JSONB = ("customer", "interaction", "scores", "reasons")


class _Record:
    """A fetched record as the loop sees it."""

    def __init__(self, value: bytes, offset: int) -> None:
        self.topic = "survey-responses"
        self.partition = 0
        self.offset = offset
        self.key = str(offset).encode()
        self.value = value
        self.headers: list[tuple[str, bytes]] = []


class _Connection:
    """Answers the batch store's statements as PostgreSQL would, from what they were given."""

    def __init__(self, summaries: dict[int, dict[str, Any]]) -> None:
        self._summaries = summaries
        # What PostgreSQL would send for ``row_to_json``, built once: its cost is the server's.
        self._as_json = {case_id: _row_json(row) for case_id, row in summaries.items()}

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        yield

    async def fetchval(self, query: str, *args: Any) -> Any:
        return datetime.now(UTC)

    async def execute(self, query: str, *args: Any) -> str:
        return "INSERT 0 0"

    async def fetch(self, query: str, *args: Any) -> list[dict[str, Any]]:
        if "router_store_first_deliveries" in query:  # responses, cases and summaries at once
            sources, response_ids, received, priorities = args[0], args[1], args[4], args[17]
            now = datetime.now(UTC)
            return [
                {
                    "source": s,
                    "response_id": r,
                    "id": i + 1,
                    "received_at": t,
                    "opened_at": now,
                    "summary": None if p is None else self._as_json[i + 1],
                }
                for i, (s, r, t, p) in enumerate(
                    zip(sources, response_ids, received, priorities, strict=True)
                )
            ]
        if "INSERT INTO response_keys" in query:
            sources, response_ids, received = args[0], args[1], args[4]
            return [
                {"id": i + 1, "source": s, "response_id": r, "received_at": t}
                for i, (s, r, t) in enumerate(zip(sources, response_ids, received, strict=True))
            ]
        if "INSERT INTO recovery_cases" in query:
            return [{"id": row, "survey_response_id": row} for row in args[0]]
        if "row_to_json" in query:  # each row as one JSON text, timestamps at +00:00
            return [{"case_id": i, "summary": self._as_json[i]} for i in args[0]]
        if "FROM case_summaries" in query:
            return [
                {k: json.loads(v) if k in JSONB else v for k, v in self._summaries[i].items()}
                for i in args[0]
            ]
        raise AssertionError(f"unexpected statement: {query[:60]}")


def _row_json(row: dict[str, Any]) -> str:
    """A row as ``row_to_json`` writes it: jsonb values nested, timestamps ISO with offset."""
    return json.dumps(
        {
            k: json.loads(v) if k in JSONB else v.isoformat() if isinstance(v, datetime) else v
            for k, v in row.items()
        }
    )


class _Pool:
    def __init__(self, conn: _Connection) -> None:
        self._conn = conn

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[_Connection]:
        yield self._conn


class _Publisher:
    def __init__(self) -> None:
        self.sent = 0

    async def publish(self, messages: Sequence[Any]) -> None:
        self.sent += len(messages)


def _summary_rows(responses: Sequence[Any], coded: Sequence[Any]) -> dict[int, dict[str, Any]]:
    """``case_summaries`` rows by case id, jsonb columns as the text PostgreSQL sends."""
    now = datetime.now(UTC)
    rows = {}
    for case_id, (response, (reasons, decision, queue)) in enumerate(
        zip(responses, coded, strict=True), start=1
    ):
        rows[case_id] = {
            "case_id": case_id,
            "seq": 1,
            "status": "open",
            "priority": decision.priority,
            "queue": queue,
            "source": response.source,
            "response_id": response.response_id,
            "customer": response.customer.model_dump_json(),
            "interaction": response.interaction.model_dump_json(),
            "scores": json.dumps([s.model_dump(mode="json") for s in response.scores]),
            "reasons": json.dumps([r.model_dump(mode="json") for r in reasons]),
            "comment": response.comment,
            "follow_up_requested": response.follow_up_requested,
            "submitted_at": response.submitted_at,
            "received_at": response.received_at,
            "opened_at": now,
            "contact_due_at": now,
        }
    return rows


async def measure(args: argparse.Namespace) -> dict[str, float]:
    """µs of CPU per record for each stage, best of ``args.repeats``."""
    from winback_router.adapters import AdapterContext
    from winback_router.adapters.vendor_api import VendorApiClient
    from winback_router.batch_store import PostgresBatchStore
    from winback_router.coding.compiler import load_and_compile
    from winback_router.consumer import RecoveryRouter, RouterTopics, _Prepared
    from winback_router.settings import RouterSettings

    settings = RouterSettings(kafka_bootstrap_servers="unused", database_url="postgresql://x/y")
    planned = router_drain.specs(args.batch, 0.0, 0.0)
    records = [_Record(router_drain.envelope(spec), spec[0]) for spec in planned]
    router = RecoveryRouter(
        records=None,  # type: ignore[arg-type]
        publisher=_Publisher(),
        store=None,  # type: ignore[arg-type]
        taxonomy=load_and_compile(settings.taxonomy_path, settings.reason_model),
        sources={"survey": router_drain._generic_source()},
        adapter_context=AdapterContext(api=VendorApiClient()),
        topics=RouterTopics("survey-responses", "recovery-alerts", "dead-letters"),
    )
    outcomes = [await router._normalise(record) for record in records]
    code = router._code_batch(outcomes)  # type: ignore[arg-type]
    summaries = _summary_rows(outcomes, code(outcomes))  # type: ignore[arg-type]
    router._store = PostgresBatchStore(_Pool(_Connection(summaries)), settings.contact_policy())  # type: ignore[arg-type]

    async def normalise() -> None:
        if hasattr(router, "_normalise_all"):
            await router._normalise_all(records)
            return
        # Trees before section 12: a task per record under a semaphore (``_prepare``'s own).
        limit = asyncio.Semaphore(8)

        async def bounded(record: _Record) -> object:
            async with limit:
                return await router._normalise(record)

        await asyncio.gather(*(bounded(record) for record in records))

    async def store_and_alert() -> None:
        batch = {_Partition(): records}
        await router._store_and_alert(_Prepared(batch, records, outcomes, code))  # type: ignore[arg-type]

    best: dict[str, float] = {}
    for name, stage in (("normalise", normalise), ("store+alert", store_and_alert)):
        for _ in range(args.repeats):
            started = time.process_time()
            await stage()
            spent = 1e6 * (time.process_time() - started) / len(records)
            best[name] = min(best.get(name, spent), spent)
    best["total"] = sum(best.values())
    return {name: round(value, 1) for name, value in best.items()}


class _Partition:
    topic = "survey-responses"
    partition = 0

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Partition)


def compare(args: argparse.Namespace, argv: list[str]) -> None:
    """This checkout and ``--compare DIR``, each in a child, alternating; ratios of the best."""
    here = Path(__file__).resolve().parents[2]
    other = Path(args.compare).resolve()
    trees = {"before": other, "after": here}
    child_argv = [a for a in argv if not a.startswith("--compare") and a != args.compare]
    results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for round_ in range(args.rounds):
        for name, tree in trees.items():
            path = os.pathsep.join(str(tree / part) for part in ("services/router", "shared"))
            out = subprocess.run(
                [sys.executable, __file__, *child_argv, "--json"],
                env={**os.environ, "PYTHONPATH": path},
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results[name].append(json.loads(out.strip().splitlines()[-1]))
            print(f"round {round_ + 1} {name:6} {json.dumps(results[name][-1])}", flush=True)
    for stage in results["after"][0]:
        before = min(r[stage] for r in results["before"])
        after = min(r[stage] for r in results["after"])
        print(
            f"{stage}: before {before} after {after} µs/record, after/before {after / before:.2f}"
        )


def main() -> None:
    """One measurement here, or alternating children with ``--compare``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=200, help="records in the batch")
    parser.add_argument("--repeats", type=int, default=5, help="best of this many passes")
    parser.add_argument("--long-comment", action="store_true", help="the bench's comment")
    parser.add_argument("--compare", default=None, help="a git archive of another commit")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    router_drain.use_long_comment(args.long_comment)
    if args.compare:
        compare(args, sys.argv[1:])
        return
    result = asyncio.run(measure(args))
    print(json.dumps(result) if args.json else result)


if __name__ == "__main__":
    main()
