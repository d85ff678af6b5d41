"""Ops API: the floor now, response-time SLAs, root-cause trends and resolutions, for
supervisors and admins (the ops page draws these and nothing else).

Read-only. Agents get 403: these reports compare agents and queues, which is a supervisor's
view, and an agent's own queue is already in front of them on the board.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request

from winback_notifier.deps import ServicesDep
from winback_notifier.outcomes.report import OutcomeReport
from winback_notifier.outcomes.service import DEFAULT_OUTCOME_WINDOW, read_outcomes
from winback_notifier.reports import service as reports
from winback_notifier.reports.floor import FloorNow, floor_now
from winback_notifier.reports.offers import OfferReport, offer_report
from winback_notifier.reports.resolutions import ResolutionReport, resolution_report
from winback_notifier.reports.service import (
    DEFAULT_RESOLUTION_WINDOW,
    DEFAULT_SLA_WINDOW,
    DEFAULT_TREND_WINDOW,
    RootCauseTrends,
    SlaDimension,
    SlaReport,
    TrendGranularity,
)
from winback_notifier.staffing.service import DEFAULT_HISTORY, StaffingReport, staffing_report
from winback_shared.auth import CurrentSupervisor
from winback_shared.errors import ApiError

MAX_WINDOW = timedelta(days=3 * 366)
"""Long enough for year-on-year trends; short enough that one request cannot scan forever."""
OUT_OF_RANGE = "the window must lie within the years 1 to 9999 (UTC)"

router = APIRouter(
    prefix="/api/ops",
    tags=["ops"],
    responses={
        401: {"description": "`unauthenticated`"},
        403: {"description": "`forbidden`: supervisors and admins only"},
        422: {"description": "`invalid_request`, `invalid_window`"},
    },
)


def _window(
    since: datetime | None, until: datetime | None, default: timedelta
) -> tuple[datetime, datetime]:
    """The report's window, timezone-aware, checked for sense."""
    end = _aware(until) if until is not None else datetime.now(UTC)
    try:
        start = _aware(since) if since is not None else end - default
    except OverflowError:
        raise ApiError(422, "invalid_window", OUT_OF_RANGE) from None
    if start >= end:
        raise ApiError(422, "invalid_window", "'since' must be before 'until'")
    if end - start > MAX_WINDOW:
        raise ApiError(422, "invalid_window", "the window may span at most three years")
    return start, end


def _aware(moment: datetime) -> datetime:
    """In UTC; a time without an offset is read as UTC, as everywhere else in winback."""
    try:
        return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-14:00, past the last UTC year Python knows
        raise ApiError(422, "invalid_window", OUT_OF_RANGE) from None


@router.get("/sla", response_model=SlaReport)
async def read_sla(
    services: ServicesDep,
    _: CurrentSupervisor,
    by: Annotated[SlaDimension, Query(description="Break the cases down by this.")] = (
        SlaDimension.PRIORITY
    ),
    since: Annotated[
        datetime | None, Query(description="Cases opened from (default: 7 days ago).")
    ] = None,
    until: Annotated[datetime | None, Query(description="Cases opened before (default: now).")] = (
        None
    ),
) -> SlaReport:
    """Time to alert, claim, first attempt, first contact and resolution, and the share within
    target.

    The target is the notifier's contact target per priority (`WINBACK_CONTACT_TARGET_MINUTES`),
    the one consoles count down to. By `reason`, a case counts under each of its reasons.
    """
    start, end = _window(since, until, DEFAULT_SLA_WINDOW)
    return await reports.sla_report(
        services.pool,
        since=start,
        until=end,
        by=by,
        targets_minutes=services.settings.contact_target_minutes,
    )


@router.get("/root-causes", response_model=RootCauseTrends)
async def read_root_causes(
    services: ServicesDep,
    _: CurrentSupervisor,
    since: Annotated[datetime | None, Query(description="Default: 365 days ago.")] = None,
    until: Annotated[datetime | None, Query(description="Default: now.")] = None,
    granularity: Annotated[
        TrendGranularity, Query(description="Periods of a calendar month or an ISO week (UTC).")
    ] = TrendGranularity.MONTH,
) -> RootCauseTrends:
    """Confirmed root causes and coded reasons, period by period (empty ones included), and how
    often they agree."""
    start, end = _window(since, until, DEFAULT_TREND_WINDOW)
    return await reports.root_cause_trends(services.pool, since=start, until=end, by=granularity)


@router.get("/resolutions", response_model=ResolutionReport)
async def read_resolutions(
    services: ServicesDep,
    _: CurrentSupervisor,
    since: Annotated[
        datetime | None, Query(description="Resolved from (default: 30 days ago).")
    ] = None,
    until: Annotated[datetime | None, Query(description="Resolved before (default: now).")] = None,
) -> ResolutionReport:
    """What was offered (apology, explanation, compensation and its value per currency, process
    change) and how customers took it, by the root cause the agent confirmed."""
    start, end = _window(since, until, DEFAULT_RESOLUTION_WINDOW)
    return await resolution_report(services.pool, since=start, until=end)


@router.get("/offers", response_model=OfferReport)
async def read_offers(
    services: ServicesDep,
    _: CurrentSupervisor,
    since: Annotated[datetime | None, Query(description="Made from (default: 30 days ago).")] = (
        None
    ),
    until: Annotated[datetime | None, Query(description="Made before (default: now).")] = None,
) -> OfferReport:
    """Offers by queue and currency: granted within limits, asked, approved, declined, pending,
    overdue, the total given, and the median time supervisors took to answer."""
    start, end = _window(since, until, DEFAULT_RESOLUTION_WINDOW)
    return await offer_report(services.pool, since=start, until=end)


@router.get("/floor", response_model=FloorNow)
async def read_floor(request: Request, services: ServicesDep, _: CurrentSupervisor) -> FloorNow:
    """Open cases by status and priority, unclaimed, at risk, breached now, the oldest unclaimed
    case, consoles connected to this notifier, and the cases to chase."""
    hub = request.app.state.hub
    return await floor_now(services.pool, consoles_connected=hub.size)


@router.get("/staffing", response_model=StaffingReport)
async def read_staffing(
    request: Request,
    services: ServicesDep,
    _: CurrentSupervisor,
    since: Annotated[
        datetime | None, Query(description="History from (default: 8 weeks before 'until').")
    ] = None,
    until: Annotated[datetime | None, Query(description="History until (default: now).")] = None,
    goal: Annotated[
        float, Query(gt=0, lt=1, description="Share of P1/P2 cases to try within target.")
    ] = 0.95,
) -> StaffingReport:
    """Agents needed per queue and hour of the week (Erlang C with priorities, from the
    history's arrivals and handling times), and this hour against the agents connected here."""
    start, end = _window(since, until, DEFAULT_HISTORY)
    hours = services.settings.business_hours
    return await staffing_report(
        services.pool,
        since=start,
        until=end,
        at=datetime.now(UTC),
        targets_minutes=services.settings.contact_target_minutes,
        timezone=hours.timezone if hours else "UTC",
        connected=request.app.state.hub.agents_on,
        goal=goal,
    )


@router.get("/outcomes", response_model=OutcomeReport)
async def read_outcome_report(
    request: Request,
    services: ServicesDep,
    _: CurrentSupervisor,
    since: Annotated[
        datetime | None, Query(description="Resolved from (default: 90 days ago).")
    ] = None,
    until: Annotated[datetime | None, Query(description="Resolved before (default: now).")] = None,
    window_days: Annotated[
        float | None,
        Query(gt=0, le=3660, description="Days after resolution a later response counts."),
    ] = None,
    gain: Annotated[
        float | None, Query(gt=0, le=10, description="Points up on 0-10 that count as recovered.")
    ] = None,
) -> OutcomeReport:
    """Did recovery win customers back? Each resolved case linked to the customer's next survey
    response (any source): recovered and re-complaint rates, score change, by reason, queue,
    agent, resolution kind and time to first contact, with counts and 95 % intervals."""
    start, end = _window(since, until, DEFAULT_OUTCOME_WINDOW)
    settings = services.settings
    return await read_outcomes(
        services.pool,
        since=start,
        until=end,
        rule=request.app.state.customer_match,
        window=timedelta(days=window_days or settings.outcome_window_days),
        gain=gain or settings.outcome_gain_points,
    )
