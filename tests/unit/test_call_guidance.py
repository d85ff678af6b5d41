"""The words for the call: the shipped file covers every taxonomy code in the call's order, and
a company's file is checked at start-up with errors that name the entry and field at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from winback_notifier.calls.guidance import (
    GuidanceError,
    Step,
    load_guidance,
    missing_codes,
)
from winback_shared.taxonomy import load_taxonomy

TAXONOMY = load_taxonomy()
STEPS = """
company = "Acme"
[steps.acknowledge]
prompt = "Greet them."
say = ["Hello {customer}."]
[steps.introduce]
prompt = "Say who you are."
say = ["I'm {agent} from {company}."]
[steps.duration]
prompt = "Say how long."
[steps.explain]
prompt = "Listen, then explain."
[steps.thank]
prompt = "Thank them."
"""


def written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "guidance.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_guidance_has_words_for_every_code_an_apology_first() -> None:
    guidance = load_guidance(None, TAXONOMY)
    assert list(guidance.steps) == [
        Step.ACKNOWLEDGE,
        Step.INTRODUCE,
        Step.DURATION,
        Step.EXPLAIN,
        Step.THANK,
    ]
    assert len(TAXONOMY.codes) == 16
    assert missing_codes(guidance, TAXONOMY) == []
    for code, words in guidance.reasons.items():
        assert words.apology and all("sorry" in line.lower() for line in words.apology), code
        assert len(words.options) >= 2, f"{code}: options, not one prescription"


def test_a_company_file_may_cover_some_codes_and_the_rest_get_the_steps_alone(
    tmp_path: Path,
) -> None:
    text = STEPS + '[reasons.long_wait]\napology = ["Sorry for the wait."]\n'
    guidance = load_guidance(written(tmp_path, text), TAXONOMY)
    assert guidance.company == "Acme"
    assert list(guidance.reasons) == ["long_wait"]
    assert guidance.reasons["long_wait"].options == []
    assert "billing_error" in missing_codes(guidance, TAXONOMY)


@pytest.mark.parametrize(
    ("extra", "where", "says"),
    [
        ('[reasons.parking]\napology = ["Sorry."]\n', "reasons.parking", "not a reason code"),
        ("[reasons.long_wait]\napology = []\n", "reasons.long_wait.apology", "at least 1"),
        (
            '[reasons.long_wait]\napology = ["Sorry, {name}."]\n',
            "reasons.long_wait.apology",
            "unknown placeholder {name}",
        ),
        (
            f'[reasons.rude]\napology = ["{"x" * 241}"]\n',
            "reasons.rude.apology[0]",
            "at most 240",
        ),
        (
            '[reasons.rude]\napology = ["Sorry."]\nremedies = ["x"]\n',
            "reasons.rude.remedies",
            "Extra",
        ),
    ],
)
def test_a_mistake_names_the_entry_and_field(
    tmp_path: Path, extra: str, where: str, says: str
) -> None:
    path = written(tmp_path, STEPS + extra)
    with pytest.raises(GuidanceError) as error:
        load_guidance(path, TAXONOMY)
    message = str(error.value)
    assert message.startswith(f"invalid call guidance {path}:")
    assert f"  {where}" in message and says in message, message


def test_every_step_must_be_there(tmp_path: Path) -> None:
    text = STEPS.replace('[steps.thank]\nprompt = "Thank them."\n', "")
    with pytest.raises(GuidanceError, match=r"steps: .*missing: thank"):
        load_guidance(written(tmp_path, text), TAXONOMY)


def test_an_unreadable_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(GuidanceError, match="cannot read call guidance"):
        load_guidance(written(tmp_path, "company = \n"), TAXONOMY)
    with pytest.raises(GuidanceError, match="cannot read call guidance"):
        load_guidance(tmp_path / "missing.toml", TAXONOMY)
