"""Re-coding decisions without I/O: what changes, what a case keeps, how runs are described."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.recode_support import PARKING_COMMENT, survey_response, write_changed_taxonomy
from winback_router.coding import code_response
from winback_router.recoding.blind_spots import mask_contact_data
from winback_router.recoding.cli import parse_args, parse_when
from winback_router.recoding.plan import (
    StoredCoding,
    history_note,
    plan_change,
    taxonomy_digest,
)
from winback_router.recoding.replay import Window
from winback_router.recoding.report import Summary
from winback_shared.case_vocabulary import CaseStatus
from winback_shared.survey import SurveyResponse
from winback_shared.taxonomy import Taxonomy, load_taxonomy

DEFAULT = load_taxonomy()


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory) -> Taxonomy:
    return load_taxonomy(write_changed_taxonomy(tmp_path_factory.mktemp("taxonomy")))


def stored(
    response: SurveyResponse,
    *,
    case_status: CaseStatus | None = None,
    case_priority: int | None = None,
    taxonomy: Taxonomy = DEFAULT,
) -> StoredCoding:
    """As the router stored it: coded with ``taxonomy``, through JSON like jsonb does."""
    codes = [reason.model_dump(mode="json") for reason in code_response(response, taxonomy)]
    return StoredCoding(
        row_id=7,
        response=response,
        codes=codes,
        case_id=3 if case_status else None,
        case_status=case_status,
        case_priority=case_priority,
    )


def test_the_same_taxonomy_changes_nothing(changed: Taxonomy) -> None:
    response = survey_response(nps=3, reasons=["Billing error"], comment=PARKING_COMMENT)
    assert plan_change(stored(response), DEFAULT) is None
    assert plan_change(stored(response, taxonomy=changed), changed) is None


def test_a_new_code_replaces_unclassified(changed: Taxonomy) -> None:
    change = plan_change(stored(survey_response(nps=9, comment=PARKING_COMMENT)), changed)
    assert change is not None
    assert (change.added, change.removed) == (("parking",), ("unclassified",))
    assert [code["code"] for code in change.codes_after] == ["parking"]
    assert change.codes_after[0]["evidence"] == PARKING_COMMENT
    # A promoter's complaint would need recovery now, but no case exists: it gets none.
    assert change.case_id is None and change.recoded_priority == 2


def test_a_removed_code_leaves_its_answer_unclassified(changed: Taxonomy) -> None:
    change = plan_change(
        stored(survey_response(nps=4, reasons=["Rude agent"]), case_status=CaseStatus.CLOSED),
        changed,
    )
    assert change is not None
    assert (change.added, change.removed) == (("unclassified",), ("rude",))
    assert change.case_id == 3 and not change.case_open


def test_a_weight_change_is_a_change_of_details_only(changed: Taxonomy) -> None:
    change = plan_change(
        stored(
            survey_response(nps=5, reasons=["Billing error"]),
            case_status=CaseStatus.CLAIMED,
            case_priority=2,
        ),
        changed,
    )
    assert change is not None and change.case_open
    assert not change.codes_differ
    assert change.codes_after[0]["weight"] == 2.0
    assert (change.case_priority, change.recoded_priority) == (2, 1)
    assert history_note(change) == (
        "Reasons re-coded after a taxonomy change: evidence or weights updated."
        " Priority stays 2 (the new codes alone would give priority 1)."
    )


def test_stored_codes_that_no_longer_parse_are_recoded() -> None:
    response = survey_response(nps=3, reasons=["Billing error"])
    legacy = StoredCoding(row_id=1, response=response, codes=[{"code": "billing_error"}])
    change = plan_change(legacy, DEFAULT)
    assert change is not None and not change.codes_differ
    assert change.codes_after[0]["evidence"] == "Billing error"


def test_taxonomy_digest_follows_content_not_layout(changed: Taxonomy) -> None:
    assert taxonomy_digest(DEFAULT) == taxonomy_digest(load_taxonomy())
    assert taxonomy_digest(DEFAULT) != taxonomy_digest(changed)


def test_summary_counts_codes_per_code_and_cases(changed: Taxonomy) -> None:
    summary = Summary(taxonomy_sha256="ab" * 32, replay_source="database", dry_run=False)
    for item, recoded in (
        (stored(survey_response(nps=9, comment=PARKING_COMMENT)), False),
        (
            stored(
                survey_response(nps=3, comment=PARKING_COMMENT),
                case_status=CaseStatus.OPEN,
                case_priority=1,
            ),
            True,
        ),
        (
            stored(
                survey_response(nps=4, reasons=["Rude agent"]),
                case_status=CaseStatus.CLOSED,
                case_priority=2,
            ),
            False,
        ),
    ):
        change = plan_change(item, changed)
        assert change is not None
        summary.record(change, case_recoded=recoded)
    assert summary.codes_added == {"parking": 2, "unclassified": 1}
    assert summary.codes_removed == {"unclassified": 2, "rude": 1}
    assert summary.cases_recoded == [3] and summary.closed_cases_recoded == [3]
    assert summary.would_need_recovery == 1 and summary.priority_would_change == {}
    text = summary.render()
    assert "responses changed: 3 (3 with codes added or removed" in text
    assert "  parking                            2        0" in text
    assert "  unclassified                       1        2" in text


def test_window_bounds_are_inclusive_then_exclusive() -> None:
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)
    window = Window(since=start, until=end)
    assert window.holds(start) and not window.holds(end)
    assert Window().holds(end)


def test_when_is_an_iso_moment_in_utc_or_an_age() -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert parse_when("2026-11-01") == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_when("2026-11-01T10:00:00+01:00") == datetime(2026, 11, 1, 9, tzinfo=UTC)
    assert parse_when("7d", now=now) == datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
    assert parse_when("90m", now=now) == datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
    with pytest.raises(argparse.ArgumentTypeError, match="age like"):
        parse_when("last week")


def test_run_is_the_default_command(tmp_path: Path) -> None:
    args = parse_args(["--from-database", "--dry-run", "--source", "web"])
    assert (args.command, args.from_database, args.dry_run, args.source) == (
        "run",
        True,
        True,
        "web",
    )
    assert parse_args(["blind-spots", "--since", "2026-11-01"]).since == datetime(
        2026, 11, 1, tzinfo=UTC
    )


def test_contact_data_typed_into_a_comment_is_masked() -> None:
    text = "Call me on +44 20 7946 0958 or mail ana.b+x@mail.example.org, ref 12345 please"
    assert mask_contact_data(text) == "Call me on [phone] or mail [email], ref 12345 please"
