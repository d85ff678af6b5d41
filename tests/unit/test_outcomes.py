"""The outcome loop's rules, figures worked out by hand: which later response measures which
resolved case, the recovered and re-complaint rates with their intervals, and the breakdowns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from winback_notifier.outcomes.linking import (
    Link,
    ResolvedCase,
    Response,
    comparable_score,
    is_recovered,
    link_customer,
)
from winback_notifier.outcomes.report import (
    CaseFacts,
    OutcomeDimension,
    contact_bucket,
    outcome_report,
    resolution_kind,
)
from winback_notifier.outcomes.stats import mean_interval, t_quantile, wilson

DAY0 = datetime(2026, 11, 1, 9, tzinfo=UTC)


def at(days: float) -> datetime:
    return DAY0 + timedelta(days=days)


def response(
    rid: int,
    days: float,
    score: float | None,
    *,
    source: str = "post-call",
    survey: str | None = "csat-call",
    bad: bool = False,
) -> Response:
    return Response(rid, at(days), source, survey, score, bad)


def resolved(case_id: int, days: float, opened_by: Response) -> ResolvedCase:
    return ResolvedCase(case_id, at(days), opened_by)


def test_scores_on_one_scale() -> None:
    assert comparable_score([{"kind": "nps", "value": 2, "scale_min": 0, "scale_max": 10}]) == (
        "nps",
        2.0,
    )
    csat = {"kind": "csat", "value": 4, "scale_min": 1, "scale_max": 5}
    nps = {"kind": "nps", "value": 9, "scale_min": 0, "scale_max": 10}
    assert comparable_score([csat]) == ("csat", 7.5)
    assert comparable_score([csat, nps]) == ("nps", 9.0)  # NPS first whatever the order
    assert comparable_score([]) is None


def test_recovered_band_and_gain() -> None:
    assert is_recovered(2.0, 7.0, 3.0) is True  # a passive afterwards
    assert is_recovered(2.0, 6.0, 3.0) is True  # up by 4
    assert is_recovered(4.0, 6.0, 3.0) is False  # up by 2, still a detractor
    assert is_recovered(None, 6.0, 3.0) is False
    assert is_recovered(2.0, None, 3.0) is None


def test_a_later_response_measures_the_case() -> None:
    complaint = response(1, -1, 2.0, bad=True)
    later = response(2, 5.5, 8.0)
    links = link_customer([resolved(10, 0, complaint)], [complaint, later])
    assert links == {
        10: Link(
            case_id=10,
            response_id=2,
            before=2.0,
            after=8.0,
            change=6.0,
            days=5.5,
            same_survey=True,
            recovered=True,
            re_complaint=False,
            later_responses=0,
        )
    }


def test_outside_the_window_or_before_resolution_links_nothing() -> None:
    complaint = response(1, -1, 2.0, bad=True)
    too_late = response(2, 91, 9.0)
    before_resolution = response(3, -0.5, 9.0)
    cases = [resolved(10, 0, complaint)]
    assert link_customer(cases, [complaint, too_late, before_resolution]) == {}
    wider = link_customer(cases, [complaint, too_late], window=timedelta(days=120))
    assert wider[10].days == 91.0


def test_several_cases_each_gets_the_response_that_follows_it() -> None:
    """Case A resolved on day 0; the customer complains again on day 3 (case B, resolved day
    4); a promoter answer on day 10. A is measured by B's complaint (a re-complaint, 2 -> 1),
    B by the day-10 answer (1 -> 9): the day-10 answer never measures A."""
    first = response(1, -1, 2.0, bad=True)
    again = response(2, 3, 1.0, bad=True)
    promoter = response(3, 10, 9.0, source="relationship", survey="nps-q4")
    links = link_customer(
        [resolved(10, 0, first), resolved(11, 4, again)], [first, again, promoter]
    )
    a, b = links[10], links[11]
    assert (a.response_id, a.after, a.change, a.days, a.recovered, a.re_complaint) == (
        2,
        1.0,
        -1.0,
        3.0,
        False,
        True,
    )
    assert (b.response_id, b.change, b.days, b.recovered, b.re_complaint) == (
        3,
        8.0,
        6.0,
        True,
        False,
    )
    assert b.same_survey is False  # another source and survey count, and say so


def test_the_first_later_response_is_the_outcome() -> None:
    complaint = response(1, -1, 3.0, bad=True)
    links = link_customer(
        [resolved(10, 0, complaint)],
        [complaint, response(3, 9, 10.0), response(2, 2, 5.0), response(4, 20, None)],
    )
    assert links[10].response_id == 2
    assert links[10].recovered is False  # 3 -> 5: up 2, under the gain of 3
    assert links[10].later_responses == 2


def test_a_later_response_without_a_score() -> None:
    complaint = response(1, -1, 3.0, bad=True)
    links = link_customer([resolved(10, 0, complaint)], [complaint, response(2, 1, None)])
    assert links[10].recovered is None and links[10].change is None


def test_wilson_interval_against_published_values() -> None:
    # Published Wilson 95 % intervals (e.g. Newcombe 1998, Table I; Brown, Cai & DasGupta).
    assert wilson(0, 10).model_dump() == {
        "hits": 0,
        "n": 10,
        "rate": 0.0,
        "low": 0.0,
        "high": 0.2775,
    }
    assert (wilson(1, 10).low, wilson(1, 10).high) == (0.0179, 0.4042)
    assert (wilson(5, 10).low, wilson(5, 10).high) == (0.2366, 0.7634)
    assert wilson(0, 0).rate is None
    with pytest.raises(ValueError):
        wilson(3, 2)


def test_mean_interval_by_hand() -> None:
    # 1, 2, 3, 4: mean 2.5, s = 1.2910, se = 0.6455, t(3) = 3.182: 2.5 +- 2.054.
    interval = mean_interval([1, 2, 3, 4])
    assert (interval.mean, interval.low, interval.high) == (2.5, 0.446, 4.554)
    assert mean_interval([5.0]).low is None
    assert mean_interval([]).mean is None
    assert t_quantile(40) == pytest.approx(1.96, abs=1e-3)


def test_resolution_kinds_and_contact_buckets() -> None:
    assert resolution_kind({"apology": True, "compensation": {"value": 10}}) == (
        "apology + compensation"
    )
    assert resolution_kind({"apology": False, "explanation": "  "}) == "none"
    assert resolution_kind(
        {"explanation": "why", "process_change": "checklist", "apology": True}
    ) == ("apology + explanation + process change")
    assert resolution_kind(None) == "none"
    assert contact_bucket(DAY0, DAY0 + timedelta(minutes=14)) == "under 15 min"
    assert contact_bucket(DAY0, DAY0 + timedelta(minutes=15)) == "15 min or later"
    assert contact_bucket(DAY0, None) == "not reached"


def facts(case_id: int, resolution: str, contact: str, **extra: object) -> CaseFacts:
    defaults: dict[str, object] = {
        "case_id": case_id,
        "resolved_at": at(case_id),
        "queue": "billing",
        "agent": "ana",
        "reason": "billing_error",
        "resolution": resolution,
        "first_contact": contact,
        "reaction": "satisfied",
        "compensation": {},
    }
    defaults.update(extra)
    return CaseFacts(**defaults)  # type: ignore[arg-type]


def link(case_id: int, before: float, after: float, *, bad: bool = False) -> Link:
    return Link(
        case_id=case_id,
        response_id=100 + case_id,
        before=before,
        after=after,
        change=after - before,
        days=3.0,
        same_survey=True,
        recovered=is_recovered(before, after, 3.0),
        re_complaint=bad,
        later_responses=0,
    )


def test_report_figures_by_hand() -> None:
    """Five resolved cases, four measured:
    1 apology, fast, 2 -> 9 recovered;      2 apology, fast, 1 -> 8 recovered;
    3 compensation 20 EUR, late, 2 -> 3 re-complaint;  4 compensation 10 EUR, late, 0 -> 7
    recovered (reaction dissatisfied); 5 apology, not measured.
    Recovered 3 of 4; re-complaint 1 of 4; change +7, +7, +1, +7: mean 5.5.
    Compensation on measured cases 30 EUR / 3 recovered = 10 EUR each."""
    cases = [
        facts(1, "apology", "under 15 min"),
        facts(2, "apology", "under 15 min"),
        facts(3, "compensation", "15 min or later", compensation={"EUR": 20.0}),
        facts(
            4,
            "compensation",
            "15 min or later",
            compensation={"EUR": 10.0},
            reaction="dissatisfied",
            agent="ben",
        ),
        facts(5, "apology", "under 15 min"),
    ]
    links = {1: link(1, 2, 9), 2: link(2, 1, 8), 3: link(3, 2, 3, bad=True), 4: link(4, 0, 7)}
    report = outcome_report(
        cases, links, since=at(0), until=at(10), window=timedelta(days=90), gain=3.0
    )
    total = report.total
    assert (total.cases, total.linked) == (5, 4)
    assert total.recovered == wilson(3, 4)
    assert total.re_complaint == wilson(1, 4)
    assert total.score_change.mean == 5.5
    assert total.compensation_per_recovered == {"EUR": 10.0}
    kinds = {row.key: row for row in report.by[OutcomeDimension.RESOLUTION]}
    assert (kinds["apology"].cases, kinds["apology"].linked) == (3, 2)
    assert kinds["apology"].recovered.rate == 1.0 and kinds["apology"].recovered.low == 0.3424
    assert kinds["apology"].compensation_per_recovered == {}
    assert kinds["compensation"].recovered == wilson(1, 2)
    assert kinds["compensation"].compensation_per_recovered == {"EUR": 30.0}
    contact = {row.key: row for row in report.by[OutcomeDimension.FIRST_CONTACT]}
    assert contact["under 15 min"].score_change.mean == 7.0
    assert contact["15 min or later"].re_complaint.rate == 0.5
    agents = {row.key: row.linked for row in report.by[OutcomeDimension.AGENT]}
    assert agents == {"ana": 3, "ben": 1}
    reactions = {row.reaction: row for row in report.reactions}
    assert reactions["dissatisfied"].after_score.mean == 7.0
    assert reactions["dissatisfied"].recovered.rate == 1.0
    assert reactions["satisfied"].after_score.mean == pytest.approx((9 + 8 + 3) / 3, abs=1e-4)
    assert [row.case_id for row in report.links] == [4, 3, 2, 1]
