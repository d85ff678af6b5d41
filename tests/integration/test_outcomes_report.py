"""The outcome loop on real PostgreSQL: later responses matched by the customer matcher (an
e-mail from another source, a customer id from the same one) measure the resolved cases, by
API and CLI, with figures worked out by hand.

Dana (case A, apology, reached in 5 min, NPS 2) answers another source's survey 10 days after
resolution with NPS 9 and only her e-mail: recovered, +7. Eli (case B, 25 EUR, reached after
30 min, NPS 1) answers the same survey again 10 days later with NPS 3 and needs recovery again:
a re-complaint, +2, not recovered. Finn (case C) never answers again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import asyncpg

from tests.case_support import CaseDesk
from tests.integration.test_ops_reports import ops_cli
from winback_shared.agents import Role

NOW = datetime.now(UTC)


def nps(value: int) -> list[dict[str, Any]]:
    return [{"kind": "nps", "value": value, "scale_min": 0, "scale_max": 10}]


async def store_response(
    pool: asyncpg.Pool,
    *,
    source: str,
    survey: str,
    customer: dict[str, str],
    score: int,
    days_ago: float,
    needs_recovery: bool,
) -> int:
    moment = NOW - timedelta(days=days_ago)
    response_id: int = await pool.fetchval(
        """
        WITH r AS (
            INSERT INTO survey_responses (source, response_id, receipt_id, vendor, survey_id,
                submitted_at, received_at, customer, interaction, scores, chosen_reasons,
                comment, follow_up_requested, codes, needs_recovery)
            VALUES ($1, $2, $3, 'generic', $4, $5, $5, $6, '{}'::jsonb, $7, '[]'::jsonb, NULL,
                    false, $8, $9)
            RETURNING id, source, response_id, received_at
        ), keys AS (  -- as the router stores it: matching finds a response's month there
            INSERT INTO response_keys (source, response_id, survey_response_id, received_at)
            SELECT source, response_id, id, received_at FROM r
        )
        SELECT id FROM r
        """,
        source,
        f"r-{uuid4().hex[:8]}",
        str(uuid4()),
        survey,
        moment,
        customer,
        nps(score),
        [{"code": "billing_error", "label": "Billing", "evidence": "x", "method": "rule"}],
        needs_recovery,
    )
    return response_id


async def resolved_case(
    pool: asyncpg.Pool,
    response_id: int,
    *,
    resolved_days_ago: float,
    contact_minutes: float,
    resolution: dict[str, Any],
    reaction: str,
) -> int:
    resolved = NOW - timedelta(days=resolved_days_ago)
    opened = resolved - timedelta(hours=1)
    case_id: int = await pool.fetchval(
        """
        INSERT INTO recovery_cases (survey_response_id, status, priority, queue, owner_id,
            opened_at, claimed_at, first_attempt_at, first_contact_at, resolved_at,
            root_cause, resolution, customer_reaction)
        VALUES ($1, 'resolved', 1, 'billing', (SELECT id FROM agents WHERE name = 'ana'),
            $2, $2, $3, $3, $4, 'billing_error', $5, $6)
        RETURNING id
        """,
        response_id,
        opened,
        opened + timedelta(minutes=contact_minutes),
        resolved,
        resolution,
        reaction,
    )
    return case_id


async def seed(pool: asyncpg.Pool) -> dict[str, int]:
    # Customers of their own: tests/case_support's cases are all one customer (c-1, dana@...).
    dana = {"id": "o-1", "name": "Dana", "email": "dana.o@example.org"}
    eli = {"id": "o-2", "name": "Eli", "phone": "+44 7700 900123"}
    finn = {"id": "o-3", "name": "Finn", "email": "finn.o@example.org"}
    call = {"source": "post-call", "survey": "csat-call"}
    a = await resolved_case(
        pool,
        await store_response(
            pool, **call, customer=dana, score=2, days_ago=21, needs_recovery=True
        ),
        resolved_days_ago=20,
        contact_minutes=5,
        resolution={"apology": True},
        reaction="satisfied",
    )
    await store_response(
        pool,
        source="relationship",
        survey="nps-q4",
        customer={"email": " Dana.O@Example.org "},
        score=9,
        days_ago=10,
        needs_recovery=False,
    )
    b = await resolved_case(
        pool,
        await store_response(pool, **call, customer=eli, score=1, days_ago=16, needs_recovery=True),
        resolved_days_ago=15,
        contact_minutes=30,
        resolution={"compensation": {"kind": "credit", "value": 25, "currency": "EUR"}},
        reaction="neutral",
    )
    await store_response(pool, **call, customer=eli, score=3, days_ago=5, needs_recovery=True)
    c = await resolved_case(
        pool,
        await store_response(pool, **call, customer=finn, score=4, days_ago=4, needs_recovery=True),
        resolved_days_ago=3,
        contact_minutes=12,
        resolution={"apology": True, "explanation": "A billing run failed"},
        reaction="satisfied",
    )
    return {"a": a, "b": b, "c": c}


async def test_later_responses_measure_the_cases(case_desk: CaseDesk) -> None:
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    ana = await case_desk.agent("ana", queues=["billing"])
    cases = await seed(case_desk.pool)
    answer = await case_desk.call("GET", "/api/ops/outcomes", sue)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    total = report["total"]
    assert (total["cases"], total["linked"]) == (3, 2)
    assert total["recovered"] == {"hits": 1, "n": 2, "rate": 0.5, "low": 0.0945, "high": 0.9055}
    assert total["re_complaint"]["hits"] == 1
    # +7 and +2: mean 4.5, s = 3.5355, t(1) = 12.706: 4.5 +- 31.765.
    assert total["score_change"] == {"n": 2, "mean": 4.5, "low": -27.265, "high": 36.265}
    assert total["compensation_per_recovered"] == {"EUR": 25.0}
    links = {row["case_id"]: row for row in report["links"]}
    assert set(links) == {cases["a"], cases["b"]}
    dana = links[cases["a"]]
    assert (dana["before"], dana["after"], dana["change"], dana["days"]) == (2.0, 9.0, 7.0, 10.0)
    assert dana["same_survey"] is False and dana["recovered"] is True
    eli = links[cases["b"]]
    assert (eli["change"], eli["same_survey"], eli["re_complaint"]) == (2.0, True, True)
    kinds = {row["key"]: row for row in report["by"]["resolution"]}
    assert kinds["apology"]["recovered"]["rate"] == 1.0
    assert kinds["compensation"]["recovered"]["rate"] == 0.0
    assert kinds["apology + explanation"]["linked"] == 0
    contact = {row["key"]: row["linked"] for row in report["by"]["first_contact"]}
    assert contact == {"under 15 min": 1, "15 min or later": 1}
    reactions = {row["reaction"]: row for row in report["reactions"]}
    assert reactions["neutral"]["after_score"]["mean"] == 3.0
    assert reactions["satisfied"]["after_score"]["mean"] == 9.0
    assert reactions["satisfied"]["cases"] == 2

    narrow = await case_desk.call("GET", "/api/ops/outcomes?window_days=5", sue)
    assert narrow.json()["total"]["linked"] == 0
    refused = await case_desk.call("GET", "/api/ops/outcomes", ana)
    assert refused.status_code == 403


async def test_the_cli_prints_the_same_figures(
    case_desk: CaseDesk, infra_env: dict[str, Any]
) -> None:
    await case_desk.agent("ana", queues=["billing"])
    await seed(case_desk.pool)
    url = str(infra_env["database_url"])
    code, out, err = await ops_cli(url, "outcomes", "--by", "resolution")
    assert code == 0, err
    lines = {line.split("  ")[0].strip(): line for line in out.splitlines()}
    assert "100% [21%-100%] of 1" in lines["apology"]
    assert "50% [9%-91%] of 2" in lines["all"] and "25.00 EUR" in lines["all"]
    assert any(line.startswith("neutral") and "3.0" in line for line in out.splitlines())
    code, out, err = await ops_cli(url, "outcomes", "--json", "--gain", "1")
    assert code == 0, err
    assert json.loads(out)["total"]["recovered"]["hits"] == 2  # +2 counts with a gain of 1
