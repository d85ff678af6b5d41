"""Refinement on real Kafka and PostgreSQL: the router codes fast, the refiner re-codes once.

The pipeline's router codes with the fast (TF-IDF-only) model; the refiner process's app runs
in-process as the router's database role, with the full model, and its ``recoded`` entries
reach the consoles through the notifier's outbox like a re-coding run's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

from tests.case_support import CaseDesk
from tests.integration.test_recode import case_of, codes_of, post_and_wait, recoded_changes
from tests.recode_support import store_coded, survey_response
from tests.role_support import ROUTER, service_env
from tests.support import Pipeline, eventually, serve
from winback_router.coding import code_responses
from winback_router.coding.compiler import load_and_compile
from winback_router.coding.learned import DEFAULT_MODEL, FAST_MODEL
from winback_router.recoding.report import Summary
from winback_router.recoding.store import start_run
from winback_router.refine import loop, store
from winback_router.refine.app import create_app as create_refiner_app
from winback_router.refine.metrics import RESPONSES
from winback_router.settings import RouterSettings
from winback_shared.db import create_pool
from winback_shared.migrations import apply_migrations
from winback_shared.survey import SurveyResponse
from winback_shared.taxonomy import Taxonomy

TWO_CODES = "nobody rings back ever"
"""Fast: repeat_contact and broken_promise; full: broken_promise (test_refine_select.py)."""
AGREED = "the thing broke after two days"
"""Both models: product_defect."""


@asynccontextmanager
async def running_refiner(infra_env: dict[str, object]) -> AsyncIterator[list[BaseException]]:
    """The refiner's app, as ``python -m winback_router.refine`` runs it; its loop's errors."""
    failures: list[BaseException] = []
    settings = RouterSettings(
        **await service_env(infra_env, ROUTER),  # type: ignore[arg-type]
        refine_idle_seconds=0.1,
    )
    async with serve(create_refiner_app(settings, failures.append)):
        yield failures
    assert not failures, f"the refiner loop died: {failures!r}"


async def nothing_pending(pool: asyncpg.Pool) -> bool:
    return not await pool.fetchval("SELECT count(*) FROM survey_responses WHERE refine_pending")


async def test_a_response_whose_fast_codes_differ_is_recoded_once_and_consoles_see_it(
    pipeline: Pipeline, infra_env: dict[str, object]
) -> None:
    pool = pipeline.pool
    differs, agrees, reviewed = (
        pipeline.sample(nps=3, comment=TWO_CODES),
        pipeline.sample(nps=3, comment=AGREED),
        pipeline.sample(nps=3, comment=TWO_CODES),
    )
    await post_and_wait(pipeline, [differs, agrees, reviewed])
    assert await codes_of(pool, differs) == ["repeat_contact", "broken_promise"]  # the fast codes
    differs_case, reviewed_case = await case_of(pool, differs), await case_of(pool, reviewed)
    assert differs_case and reviewed_case
    # An agent confirmed the fast codes of one case: the refiner leaves them.
    await pool.execute(
        "INSERT INTO case_history (case_id, seq, kind, actor, data, published_at)"
        " VALUES ($1, 99, 'reasons_reviewed', 'test', '{}', now())",
        reviewed_case["id"],
    )
    desk = CaseDesk(url=pipeline.notifier_url, pool=pool, http=pipeline.http)

    async with desk.console(pipeline.agent_token) as console:
        async with running_refiner(infra_env):
            changes = await recoded_changes(console, 1)
            assert await eventually(lambda: nothing_pending(pool))
        (change,) = changes.values()
        assert change["case"]["case_id"] == differs_case["id"]
        assert [r["code"] for r in change["case"]["reasons"]] == ["broken_promise"]
        assert (change["change"]["kind"], change["change"]["data"]["removed"]) == (
            "recoded",
            ["repeat_contact"],
        )
        assert change["case"]["priority"] == differs_case["priority"]  # as re-coding: kept

        # Restarted, the refiner finds nothing to do and pushes nothing more.
        async with running_refiner(infra_env):
            await console.nothing_for(3.0)

    assert await codes_of(pool, differs) == ["broken_promise"]
    assert await codes_of(pool, agrees) == ["product_defect"]
    assert await codes_of(pool, reviewed) == ["repeat_contact", "broken_promise"]
    changed = await pool.fetch("SELECT survey_response_id, run_id FROM recode_changes")
    assert [row["survey_response_id"] for row in changed] == [differs_case["survey_response_id"]]
    runs = await pool.fetch("SELECT replay_source, status FROM recode_runs ORDER BY id")
    assert [tuple(run) for run in runs] == [("refine", "finished")] * 2
    recoded = await pool.fetchval(
        "SELECT count(*) FROM case_history WHERE case_id = $1 AND kind = 'recoded'",
        differs_case["id"],
    )
    assert recoded == 1

    # A later delivery revises a refined response: the router's fast codes again, so it waits
    # for the refiner once more.
    revised = {**agrees, "comment": TWO_CODES}
    assert (await pipeline.post(revised)).status_code == 202

    async def revised_and_pending() -> bool:
        row = await pool.fetchrow(
            "SELECT revision, refine_pending FROM survey_responses WHERE response_id = $1",
            agrees["response_id"],
        )
        return row is not None and row["revision"] == 2 and row["refine_pending"]

    assert await eventually(revised_and_pending)


async def test_a_revision_after_the_read_is_not_marked_refined(schema_url: str) -> None:
    fast = load_and_compile(None, FAST_MODEL)
    pool = await create_pool(schema_url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn)
            row_id = await store_coded(conn, survey_response(nps=3, comment=TWO_CODES), fast)
            (read,) = await store.pending(conn, 10)
            assert (read.stored.row_id, read.revision, read.reviewed) == (row_id, 1, False)
            await conn.execute(
                "UPDATE survey_responses SET revision = revision + 1 WHERE id = $1", row_id
            )
            async with conn.transaction():
                locked = await store.lock_pending(conn, row_id)
                assert locked is not None and locked.revision == 2
            assert await store.mark_refined(conn, [read]) == 0  # the old revision's mark
            assert await store.pending_count(conn) == 1
            assert await store.mark_refined(conn, [locked]) == 1
            assert await store.pending_count(conn) == 0
            async with conn.transaction():
                assert await store.lock_pending(conn, row_id) is None
    finally:
        await pool.close()


async def test_a_response_the_full_model_fails_on_keeps_its_codes_and_the_rest_are_refined(
    schema_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug the refiner met on one comment stopped it on that batch at every restart, and
    nothing more was refined; now that response keeps its fast codes, marked refined."""
    fast = load_and_compile(None, FAST_MODEL)
    full = load_and_compile(None, DEFAULT_MODEL)

    def failing_on_marked(responses: Sequence[SurveyResponse], taxonomy: Taxonomy) -> Any:
        if any("zzqx" in (response.comment or "") for response in responses):
            raise IndexError("a bug the comment walks into")
        return code_responses(responses, taxonomy)

    monkeypatch.setattr(loop, "code_responses", failing_on_marked)
    failed_before = RESPONSES.labels("failed")._value.get()
    pool = await create_pool(schema_url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn)
            crash = survey_response(nps=3, comment=f"{TWO_CODES} zzqx")
            await store_coded(conn, crash, fast)
            await store_coded(conn, survey_response(nps=3, comment=TWO_CODES), fast)
            run_id = await start_run(
                conn, taxonomy_sha256="t", replay_source="refine", since=None, until=None,
                source=None,
            )  # fmt: skip
        summary = Summary(taxonomy_sha256="t", replay_source="refine", dry_run=False)
        refiner = loop.Refiner(
            pool=pool, taxonomy=full, run_id=run_id, summary=summary, batch=10, idle_seconds=0.1
        )
        assert await refiner.refine_batch() == 2
        assert await nothing_pending(pool)
        rows = await pool.fetch("SELECT comment, codes FROM survey_responses ORDER BY comment")
        codes = {row["comment"]: [code["code"] for code in row["codes"]] for row in rows}
        assert codes == {
            f"{TWO_CODES} zzqx": ["broken_promise", "repeat_contact"],  # the fast codes, kept
            TWO_CODES: ["broken_promise"],  # the full model's
        }
        assert RESPONSES.labels("failed")._value.get() == failed_before + 1
    finally:
        await pool.close()
