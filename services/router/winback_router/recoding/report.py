"""What a run saw and changed: counted while it runs, printed at the end, kept with the run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from winback_router.recoding.plan import ResponseChange

LISTED_CASES = 20
"""How many case ids a printed summary names; the JSON and the run record keep them all."""


@dataclass
class ReplayCounts:
    """What the replay read before anything was re-coded.

    For Kafka: records in the window, records that never made a response (dead letters,
    events that are no survey response), and responses whose vendor API was unavailable (run
    again later). ``not_stored`` counts responses the replay named but PostgreSQL does not hold
    (not routed yet): a run never inserts anything.
    """

    records_total: int = 0
    records_read: int = 0
    outside_filter: int = 0
    not_normalised: int = 0
    not_a_response: int = 0
    unresolved: int = 0
    not_stored: int = 0


@dataclass
class Summary:
    """Counts for one run. ``cases_recoded`` are open cases whose card changed (seq + 1 and a
    ``recoded`` history entry); ``closed_cases_recoded`` had their response re-coded only."""

    taxonomy_sha256: str
    replay_source: str
    dry_run: bool
    run_id: int | None = None
    responses_seen: int = 0
    responses_changed: int = 0
    codes_changed: int = 0
    codes_added: Counter[str] = field(default_factory=Counter)
    codes_removed: Counter[str] = field(default_factory=Counter)
    cases_recoded: list[int] = field(default_factory=list)
    closed_cases_recoded: list[int] = field(default_factory=list)
    priority_would_change: dict[int, tuple[int | None, int | None]] = field(default_factory=dict)
    would_need_recovery: int = 0
    replay: ReplayCounts = field(default_factory=ReplayCounts)

    def record(self, change: ResponseChange, *, case_recoded: bool) -> None:
        """Count one changed response; ``case_recoded`` when its open case got a history entry."""
        self.responses_changed += 1
        self.codes_changed += change.codes_differ
        self.codes_added.update(change.added)
        self.codes_removed.update(change.removed)
        if change.case_id is None:
            self.would_need_recovery += change.recoded_priority is not None
            return
        if case_recoded:
            self.cases_recoded.append(change.case_id)
            if change.recoded_priority != change.case_priority:
                self.priority_would_change[change.case_id] = (
                    change.case_priority,
                    change.recoded_priority,
                )
        else:
            self.closed_cases_recoded.append(change.case_id)

    def as_json(self) -> dict[str, Any]:
        """Everything, for ``--json`` and the run record."""
        return {
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "taxonomy_sha256": self.taxonomy_sha256,
            "replay_source": self.replay_source,
            "responses_seen": self.responses_seen,
            "responses_changed": self.responses_changed,
            "codes_changed": self.codes_changed,
            "codes_added": dict(sorted(self.codes_added.items())),
            "codes_removed": dict(sorted(self.codes_removed.items())),
            "cases_recoded": self.cases_recoded,
            "closed_cases_recoded": self.closed_cases_recoded,
            "priority_would_change": {
                str(case): {"kept": kept, "recoded": recoded}
                for case, (kept, recoded) in self.priority_would_change.items()
            },
            "would_need_recovery": self.would_need_recovery,
            "replay": vars(self.replay),
        }

    def render(self) -> str:
        """The end-of-run report for a terminal."""
        verb = "would change" if self.dry_run else "changed"
        head = f"re-coded from {self.replay_source}"
        head += " (dry run: nothing written)" if self.dry_run else f" (run {self.run_id})"
        lines = [
            head,
            f"taxonomy sha256 {self.taxonomy_sha256[:16]}",
            f"responses seen: {self.responses_seen}",
            f"responses {verb}: {self.responses_changed}"
            f" ({self.codes_changed} with codes added or removed,"
            f" {self.responses_changed - self.codes_changed} with evidence or weights only)",
        ]
        codes = sorted(set(self.codes_added) | set(self.codes_removed))
        if codes:
            lines.append(f"  {'code':28} {'added':>7} {'removed':>8}")
            lines += [
                f"  {code:28} {self.codes_added[code]:>7} {self.codes_removed[code]:>8}"
                for code in codes
            ]
        lines.append(f"open cases re-coded (history entry, no alert): {_ids(self.cases_recoded)}")
        lines.append(f"resolved or closed cases (response only): {_ids(self.closed_cases_recoded)}")
        if self.priority_would_change:
            changes = ", ".join(
                f"{case}: {kept} -> {recoded or 'none'}"
                for case, (kept, recoded) in list(self.priority_would_change.items())[:LISTED_CASES]
            )
            lines.append(f"priority kept, though the new codes would change it: {changes}")
        if self.would_need_recovery:
            lines.append(
                f"responses without a case that would now need recovery (no case opened): "
                f"{self.would_need_recovery}"
            )
        replay = self.replay
        if self.replay_source == "kafka":
            lines.append(
                f"kafka records read: {replay.records_read} of {replay.records_total}"
                f" (outside window or source: {replay.outside_filter},"
                f" not normalisable: {replay.not_normalised},"
                f" not a survey response: {replay.not_a_response},"
                f" vendor API unavailable: {replay.unresolved})"
            )
        if replay.not_stored:
            lines.append(f"responses not in PostgreSQL (not routed yet): {replay.not_stored}")
        return "\n".join(lines)


def _ids(ids: list[int]) -> str:
    if not ids:
        return "0"
    shown = ", ".join(str(i) for i in ids[:LISTED_CASES])
    more = f", ... ({len(ids) - LISTED_CASES} more)" if len(ids) > LISTED_CASES else ""
    return f"{len(ids)} [{shown}{more}]"
