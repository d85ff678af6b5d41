"""Helpers for the re-coding tests: a changed taxonomy, and responses stored without a router."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from uuid import uuid4

from winback_router.coding import code_response
from winback_router.decision import decide
from winback_router.revisions import content_digest
from winback_router.store import insert_response
from winback_shared.db import Connection
from winback_shared.deadlines import ContactPolicy
from winback_shared.survey import SurveyResponse
from winback_shared.taxonomy import Taxonomy, load_taxonomy

PARKING = """
[[codes]]
id = "parking"
label = "Parking at the branch"
description = "No parking near the branch, or paying for it."
weight = 1.0
synonyms = ["Parking"]
keywords = ["parking", "nowhere to park"]
"""

PARKING_COMMENT = "The parking lot at the branch was full."


def changed_taxonomy_text() -> str:
    """The default taxonomy after an ops change: ``parking`` added, ``rude`` removed, and
    ``billing_error`` made heavy (weight 2.0, which raises a case's priority)."""
    default = resources.files("winback_shared").joinpath("default_taxonomy.toml").read_text()
    head, *blocks = default.split("[[codes]]\n")
    kept = [block for block in blocks if not block.startswith('id = "rude"')]
    billing = next(i for i, block in enumerate(kept) if block.startswith('id = "billing_error"'))
    kept[billing] = kept[billing].replace("weight = 1.3", "weight = 2.0", 1)
    return "[[codes]]\n".join([head, *kept]) + PARKING


def write_changed_taxonomy(folder: Path) -> Path:
    """The changed taxonomy as a file, checked to say what the tests rely on."""
    path = folder / "taxonomy.toml"
    path.write_text(changed_taxonomy_text(), encoding="utf-8")
    taxonomy = load_taxonomy(path)
    ids = {code.id for code in taxonomy.codes}
    assert "parking" in ids and "rude" not in ids
    assert taxonomy.by_id("billing_error").weight == 2.0
    return path


def survey_response(
    *,
    nps: int,
    reasons: list[str] | None = None,
    comment: str | None = None,
    source: str = "survey",
    received_at: datetime | None = None,
    customer: dict[str, Any] | None = None,
) -> SurveyResponse:
    """A normalised response as an adapter would produce it."""
    return SurveyResponse.model_validate(
        {
            "response_id": f"r-{uuid4().hex[:10]}",
            "source": source,
            "vendor": "generic",
            "receipt_id": uuid4().hex,
            "received_at": received_at or datetime.now(UTC),
            "customer": customer or {"name": "Dana Whitfield", "email": "dana@example.com"},
            "scores": [{"kind": "nps", "value": nps}],
            "reasons": reasons or [],
            "comment": comment,
        }
    )


async def store_coded(conn: Connection, response: SurveyResponse, taxonomy: Taxonomy) -> int:
    """Store ``response`` coded with ``taxonomy`` as the router would; return its row id."""
    reasons = code_response(response, taxonomy)
    async with conn.transaction():
        await insert_response(
            conn,
            response,
            content_digest(response),
            reasons,
            decide(response, reasons),
            contact_policy=ContactPolicy(),
        )
    row_id = await conn.fetchval(
        "SELECT id FROM survey_responses WHERE source = $1 AND response_id = $2",
        response.source,
        response.response_id,
    )
    return int(row_id)
