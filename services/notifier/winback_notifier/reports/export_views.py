"""``GET /api/ops/export``: cases for BI as a CSV or Parquet download, streamed.

Supervisors and admins only, like the other ops reports. The filter is checked before the first
byte is sent (a bad one is a 422, not a broken download); after that the rows stream from a
server-side cursor, so the response starts at once and its size is not bounded by memory.
The ops page links here with the same query string.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from winback_notifier.deps import ServicesDep
from winback_notifier.reports.export import build_filter, case_batches, filter_problems
from winback_notifier.reports.export_formats import ExportFormat, encode
from winback_shared.auth import CurrentSupervisor
from winback_shared.errors import ApiError

router = APIRouter(
    prefix="/api/ops",
    tags=["ops"],
    responses={
        401: {"description": "`unauthenticated`"},
        403: {"description": "`forbidden`: supervisors and admins only"},
        422: {"description": "`invalid_request`, `invalid_filter`"},
    },
)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {kind.media_type: {} for kind in ExportFormat}}},
)
async def read_export(
    services: ServicesDep,
    _: CurrentSupervisor,
    format: Annotated[ExportFormat, Query(description="`csv` or `parquet`.")] = ExportFormat.CSV,
    since: Annotated[
        datetime | None, Query(description="Cases opened from (default: 30 days ago).")
    ] = None,
    until: Annotated[datetime | None, Query(description="Cases opened before (default: now).")] = (
        None
    ),
    queue: Annotated[list[str] | None, Query(description="Only these queues (repeatable).")] = None,
    reason: Annotated[
        list[str] | None, Query(description="Only cases coded with any of these reasons.")
    ] = None,
) -> StreamingResponse:
    """One row per case opened in the window: timings, reasons, root cause, resolution, owner.

    Columns and types: docs/operations.md, *Exports for BI*.
    """
    try:
        where = build_filter(since, until, queue or [], reason or [])
    except ValueError as error:
        raise ApiError(422, "invalid_filter", str(error)) from None
    problems = await filter_problems(services.pool, where, services.taxonomy)
    if problems:
        raise ApiError(422, "invalid_filter", "; ".join(problems))
    name = f"winback-cases-{where.since:%Y%m%d}-{where.until:%Y%m%d}.{format.value}"
    return StreamingResponse(
        encode(format, case_batches(services.pool, where)),
        media_type=format.media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
