"""``python -m winback_notifier.reports``: the ops reports in a terminal.

    sla [--by priority|queue|reason|agent] [--since T] [--until T] [--json]
    root-causes [--by month|week] [--since T] [--until T] [--json]
    resolutions [--since T] [--until T] [--json]
    staffing [--since T] [--until T] [--goal 0.95] [--json]
    outcomes [--by reason|queue|agent|resolution|first_contact] [--window-days D] [--gain N]
             [--since T] [--until T] [--json]
    export --format csv|parquet --out FILE [--since T] [--until T] [--queue Q] [--reason R]

The same figures as ``/api/ops/sla``, ``/api/ops/root-causes`` and ``/api/ops/resolutions``
(the same queries; the ops page draws them too), read straight from the
database (``DATABASE_URL``) with the contact targets the router recorded there (so a shell
without the services' settings still shows the targets in force), for a supervisor at a shell
or a cron job that mails a weekly summary. Times are ISO 8601; without an offset, UTC.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from winback_notifier.outcomes.report import OutcomeDimension, OutcomeReport, OutcomeRow
from winback_notifier.outcomes.service import DEFAULT_OUTCOME_WINDOW, read_outcomes
from winback_notifier.outcomes.stats import Mean, Rate
from winback_notifier.reports import service as reports
from winback_notifier.reports.export_cli import add_export_command, export_to
from winback_notifier.reports.resolutions import ResolutionReport, resolution_report
from winback_notifier.reports.service import (
    DEFAULT_RESOLUTION_WINDOW,
    DEFAULT_SLA_WINDOW,
    DEFAULT_TREND_WINDOW,
    Durations,
    RootCauseTrends,
    SlaDimension,
    SlaReport,
    TrendGranularity,
)
from winback_notifier.settings import NotifierSettings
from winback_notifier.staffing.service import DEFAULT_HISTORY, StaffingReport, staffing_report
from winback_shared.customer_match import CustomerMatchSettings
from winback_shared.db import create_pool


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 10:
        return f"{value:.2f}s"  # time to alert is sub-second: keep it visible
    if value < 120:
        return f"{value:.0f}s"
    if value < 7200:
        return f"{value / 60:.1f}m"
    return f"{value / 3600:.1f}h"


def _pair(durations: Durations) -> str:
    return f"{_seconds(durations.p50)}/{_seconds(durations.p90)}"


def _targets(minutes: dict[int, float]) -> str:
    return ", ".join(f"P{p} {m:g} min" for p, m in sorted(minutes.items()))


def _policy_changes(report: SlaReport) -> list[str]:
    """Say so when the targets changed inside the window, and which cases had which."""
    if len(report.policies) < 2:
        return []
    return [
        f"  from {policy.recorded_at:%Y-%m-%d %H:%M} UTC: {_targets(policy.targets_minutes)}"
        for policy in report.policies
    ]


def format_sla(report: SlaReport) -> str:
    """A table: one line per group, then the total."""
    lines = [
        f"Cases opened {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC, "
        f"by {report.by.value}; contact targets: {_targets(report.targets_minutes)}",
        *_policy_changes(report),
        "times are p50/p90",
        "",
        f"{report.by.value:<22} {'cases':>6} {'alert':>12} {'claim':>12} {'1st try':>12} "
        f"{'reached':>12} {'resolved':>12} {'in target':>10} {'overdue':>8}",
    ]
    for row in [*report.rows, report.total]:
        share = "-" if row.within_target_share is None else f"{row.within_target_share:.0%}"
        lines.append(
            f"{row.key[:22]:<22} {row.cases:>6} {_pair(row.time_to_alert):>12} "
            f"{_pair(row.time_to_claim):>12} {_pair(row.time_to_first_attempt):>12} "
            f"{_pair(row.time_to_first_contact):>12} {_pair(row.time_to_resolution):>12} "
            f"{share:>10} {row.overdue_now:>8}"
        )
    return "\n".join(lines)


def format_trends(trends: RootCauseTrends) -> str:
    """Period by period: confirmed root causes, and how often the coding had found them."""
    lines = [
        f"Root causes {trends.since:%Y-%m-%d} to {trends.until:%Y-%m-%d} (UTC {trends.by.value}s)"
    ]
    if not any(p.root_causes or p.coded_reasons for p in trends.periods):
        lines.append("no cases in this window")
        return "\n".join(lines)
    for period in trends.periods:
        agreed = (
            f"{period.root_cause_was_coded}/{period.resolved_with_root_cause} matched the coding"
            if period.resolved_with_root_cause
            else "none resolved"
        )
        lines.append(f"\n{period.period}: {agreed}")
        causes = ", ".join(f"{code} {n}" for code, n in period.root_causes.items()) or "-"
        coded = ", ".join(f"{code} {n}" for code, n in period.coded_reasons.items()) or "-"
        lines.append(f"  confirmed: {causes}")
        lines.append(f"  coded:     {coded}")
    return "\n".join(lines)


def format_resolutions(report: ResolutionReport) -> str:
    """One line per confirmed root cause, then the total."""
    lines = [
        f"Resolutions given {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC,"
        " by confirmed root cause",
        "",
        f"{'root cause':<22} {'cases':>6} {'apology':>8} {'explain':>8} {'comp.':>6} "
        f"{'process':>8}  {'compensation value':<22} reactions",
    ]
    for row in [*report.rows, report.total]:
        value = ", ".join(f"{v:,.2f} {c}" for c, v in sorted(row.compensation_value.items()))
        reactions = ", ".join(f"{k} {n}" for k, n in sorted(row.reactions.items()))
        lines.append(
            f"{row.key[:22]:<22} {row.cases:>6} {row.apology:>8} {row.explanation:>8} "
            f"{row.compensation:>6} {row.process_change:>8}  {value or '-':<22} {reactions or '-'}"
        )
    return "\n".join(lines)


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def format_staffing(report: StaffingReport) -> str:
    """Per queue: handling times, then agents needed, a line per weekday, a column per hour."""
    priorities = "/".join(f"P{p}" for p in report.priorities)
    lines = [
        f"Agents needed for {report.goal:.0%} of {priorities} cases tried within target "
        f"(contact targets: {_targets(report.targets_minutes)}), from cases opened "
        f"{report.since:%Y-%m-%d} to {report.until:%Y-%m-%d} ({report.weeks:g} weeks); "
        f"hours in {report.timezone}",
    ]
    if not report.queues:
        lines.append("no cases in this window")
    header = "     " + "".join(f"{hour:>3}" for hour in range(24))
    for queue in report.queues:
        source = (
            f"{queue.handling_cases} resolved cases"
            if queue.handling_cases
            else "default (too few resolved cases)"
        )
        lines += [
            "",
            f"{queue.queue}: {queue.cases} cases; busy {queue.busy_minutes:g} min a case "
            f"(claim to resolution), {queue.prep_minutes:g} min claim to first attempt; {source}",
            header,
        ]
        for day, name in enumerate(WEEKDAYS):
            hours = queue.hours[day * 24 : day * 24 + 24]
            lines.append(f"{name}  " + "".join(f"{hour.agents:>3}" for hour in hours))
    return "\n".join(lines)


def _rate(rate: Rate) -> str:
    if rate.rate is None or rate.low is None or rate.high is None:
        return "-"
    return f"{rate.rate:.0%} [{rate.low:.0%}-{rate.high:.0%}] of {rate.n}"


def _mean(mean: Mean) -> str:
    if mean.mean is None:
        return "-"
    if mean.low is None or mean.high is None:
        return f"{mean.mean:+.1f} (n=1)"
    return f"{mean.mean:+.1f} [{mean.low:+.1f}, {mean.high:+.1f}]"


def _outcome_line(row: OutcomeRow) -> str:
    cost = ", ".join(f"{v:,.2f} {c}" for c, v in row.compensation_per_recovered.items()) or "-"
    return (
        f"{row.key[:28]:<28} {row.cases:>6} {row.linked:>7}  {_rate(row.recovered):<22} "
        f"{_mean(row.score_change):<20} {_rate(row.re_complaint):<22} {cost}"
    )


def format_outcomes(report: OutcomeReport, by: OutcomeDimension) -> str:
    """One line per group of the chosen breakdown, the total, then reactions against scores."""
    lines = [
        f"Cases resolved {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC and "
        f"the customer's next survey response within {report.window_days:g} days, by {by.value}",
        f"recovered: passive or better (7+ on 0-10) or up {report.gain_points:g} points; "
        "[95 % interval] of n measured",
        "",
        f"{by.value:<28} {'cases':>6} {'linked':>7}  {'recovered':<22} {'score change':<20} "
        f"{'re-complaint':<22} comp. per recovered",
    ]
    lines += [_outcome_line(row) for row in [*report.by[by], report.total]]
    lines += ["", f"{'reaction at resolution':<28} {'cases':>6} {'linked':>7}  after-score"]
    for reaction in report.reactions:
        after = reaction.after_score
        recovered = _rate(reaction.recovered)
        shown = "-" if after.mean is None else f"{after.mean:.1f} (recovered {recovered})"
        lines.append(f"{reaction.reaction:<28} {reaction.cases:>6} {reaction.linked:>7}  {shown}")
    return "\n".join(lines)


async def _report(args: argparse.Namespace, settings: NotifierSettings) -> str:
    until = args.until or datetime.now(UTC)
    pool = await create_pool(settings.database_url, min_size=1, max_size=1)
    try:
        if args.command == "sla":
            sla = await reports.sla_report(
                pool,
                since=args.since or until - DEFAULT_SLA_WINDOW,
                until=until,
                by=args.by,
                targets_minutes=settings.contact_target_minutes,
            )
            return sla.model_dump_json(indent=2) if args.json else format_sla(sla)
        if args.command == "outcomes":
            outcomes = await read_outcomes(
                pool,
                since=args.since or until - DEFAULT_OUTCOME_WINDOW,
                until=until,
                rule=CustomerMatchSettings().rule(),
                window=timedelta(days=args.window_days or settings.outcome_window_days),
                gain=args.gain or settings.outcome_gain_points,
            )
            if args.json:
                return outcomes.model_dump_json(indent=2)
            return format_outcomes(outcomes, args.by)
        if args.command == "staffing":
            hours = settings.business_hours
            staffing = await staffing_report(
                pool,
                since=args.since or until - DEFAULT_HISTORY,
                until=until,
                at=datetime.now(UTC),
                targets_minutes=settings.contact_target_minutes,
                timezone=hours.timezone if hours else "UTC",
                goal=args.goal,
            )
            return staffing.model_dump_json(indent=2) if args.json else format_staffing(staffing)
        if args.command == "resolutions":
            given = await resolution_report(
                pool, since=args.since or until - DEFAULT_RESOLUTION_WINDOW, until=until
            )
            return given.model_dump_json(indent=2) if args.json else format_resolutions(given)
        trends = await reports.root_cause_trends(
            pool, since=args.since or until - DEFAULT_TREND_WINDOW, until=until, by=args.by
        )
        return trends.model_dump_json(indent=2) if args.json else format_trends(trends)
    finally:
        await pool.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="winback_notifier.reports",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    window: list[tuple[str, Callable[[str], datetime], str]] = [
        ("--since", _moment, "start of the window"),
        ("--until", _moment, "end of the window (default: now)"),
    ]
    sla = commands.add_parser("sla", help="response-time SLAs (default: the last 7 days)")
    sla.add_argument("--by", type=SlaDimension, choices=list(SlaDimension), default="priority")
    trends = commands.add_parser("root-causes", help="root causes by period (default: a year)")
    trends.add_argument(
        "--by", type=TrendGranularity, choices=list(TrendGranularity), default="month"
    )
    given = commands.add_parser(
        "resolutions", help="what was offered and how customers took it (default: 30 days)"
    )
    staffing = commands.add_parser(
        "staffing", help="agents needed per queue and hour of the week (default: 8 weeks)"
    )
    staffing.add_argument(
        "--goal", type=float, default=0.95, help="share of P1/P2 cases tried within target"
    )
    outcomes = commands.add_parser(
        "outcomes", help="did recovery win customers back (default: resolved in 90 days)"
    )
    outcomes.add_argument(
        "--by", type=OutcomeDimension, choices=list(OutcomeDimension), default="reason"
    )
    outcomes.add_argument("--window-days", type=float, help="days a later response counts")
    outcomes.add_argument("--gain", type=float, help="points up on 0-10 that count as recovered")
    for command in (sla, trends, given, staffing, outcomes):
        for flag, kind, help_text in window:
            command.add_argument(flag, type=kind, help=help_text)
        command.add_argument("--json", action="store_true", help="the API's JSON instead")
    add_export_command(commands, _moment)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = _parser().parse_args(argv)
    if args.since and args.until and args.since >= args.until:
        print("error: --since must be before --until", file=sys.stderr)
        return 2
    if args.command == "staffing" and not 0 < args.goal < 1:
        print("error: --goal must be a share between 0 and 1, e.g. 0.95", file=sys.stderr)
        return 2
    if args.command == "export":
        return export_to(args, NotifierSettings())
    print(asyncio.run(_report(args, NotifierSettings())))
    return 0
