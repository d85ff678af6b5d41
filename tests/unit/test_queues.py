"""Routing cases to queues: first matching rule wins, the default catches the rest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from winback_router.queues import (
    QueueRules,
    QueueRulesError,
    choose_queue,
    load_queue_rules,
    parse_queue_rules,
)
from winback_router.settings import RouterSettings

RULES = parse_queue_rules(
    json.dumps(
        {
            "default": "general",
            "rules": [
                {"queue": "billing-senior", "reasons": ["billing_error"], "segments": ["Gold"]},
                {"queue": "urgent", "priorities": [1]},
                {"queue": "billing", "reasons": ["billing_error", "repeat_contact"]},
            ],
        }
    )
)


@pytest.mark.parametrize(
    ("reasons", "priority", "segment", "expected"),
    [
        (["billing_error"], 1, "gold", "billing-senior"),  # first rule wins over "urgent"
        (["billing_error"], 1, None, "urgent"),  # no segment: the segment rule cannot match
        (["billing_error"], 2, "silver", "billing"),
        (["rude", "repeat_contact"], 3, None, "billing"),  # any listed reason will do
        (["rude"], 1, "gold", "urgent"),
        (["rude"], 2, "gold", "general"),
        ([], 3, None, "general"),
    ],
)
def test_first_matching_rule_wins(
    reasons: list[str], priority: int, segment: str | None, expected: str
) -> None:
    assert choose_queue(RULES, reason_codes=reasons, priority=priority, segment=segment) == expected


def test_no_rules_means_the_default_queue() -> None:
    assert choose_queue(QueueRules(), reason_codes=["rude"], priority=1, segment="x") == "default"


def test_toml_file_loads_like_json(tmp_path: Path) -> None:
    path = tmp_path / "queues.toml"
    path.write_text('default = "general"\n[[rules]]\nqueue = "urgent"\npriorities = [1]\n')
    rules = load_queue_rules(path)
    assert choose_queue(rules, reason_codes=[], priority=1, segment=None) == "urgent"
    assert choose_queue(rules, reason_codes=[], priority=2, segment=None) == "general"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('{"rules": [{"queue": "urgent"}]}', "no condition"),
        ('{"rules": [{"queue": "Bad Name", "priorities": [1]}]}', "queue"),
        ('{"rules": [{"queue": "x", "priorities": [9]}]}', "priorities"),
        ('{"rules": [{"queue": "x", "reason": ["rude"]}]}', "reason"),  # a typo is not ignored
        ("not json", "invalid"),
    ],
)
def test_bad_rules_are_refused_with_a_clear_message(text: str, complaint: str) -> None:
    with pytest.raises(QueueRulesError, match=complaint):
        parse_queue_rules(text)


def test_missing_file_says_which(tmp_path: Path) -> None:
    with pytest.raises(QueueRulesError, match=r"nowhere\.toml"):
        load_queue_rules(tmp_path / "nowhere.toml")


def test_router_reads_queue_rules_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "queues.toml"
    path.write_text('default = "desk"\n[[rules]]\nqueue = "urgent"\npriorities = [1]\n')
    settings = RouterSettings(queue_rules_file=path)
    assert settings.queue_rules.default == "desk"
    assert [rule.queue for rule in settings.queue_rules.rules] == ["urgent"]
    path.write_text('[[rules]]\nqueue = "urgent"\n')
    with pytest.raises(ValueError, match="no condition"):
        RouterSettings(queue_rules_file=path)
