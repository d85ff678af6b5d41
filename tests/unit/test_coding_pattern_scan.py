"""The one scan for all patterns (:mod:`winback_router.coding.pattern_scan`) changes no hit.

The scan only decides which patterns' regexes run; it may name a pattern that then finds
nothing, never leave out one that would match. Checked for every shipped pattern on tricky and
generated texts, through ``find_hits`` with and without the scan, and on the translation's
parts: character classes over ASCII and beyond, dropped assertions, and what is never
translated (those patterns keep the required-string check and run as before).
"""

from __future__ import annotations

import dataclasses
import re
import threading
from pathlib import Path
from typing import cast

import pytest

from tests.taxonomy_support import code, write
from tests.unit.test_coding_fast_paths import TRICKY, generated, reference_hits, tricky_rules
from winback_router.coding import pattern_scan
from winback_router.coding.compiler import compiled_rules, load_and_compile
from winback_router.coding.pattern_scan import PatternScan, RuleScan, Untranslatable, translate
from winback_router.coding.prefilter import may_match
from winback_router.coding.rules import FoldedText, find_hits, patterns_to_run
from winback_shared.taxonomy import load_taxonomy

MORE = [
    "\U0001f621\U0001f621\U0001f621",
    "   .   ",
    "not not not not",
    "they did not know. they did not know anything",
    "he did not. know",  # a gap pattern must not read across the sentence mark
    "nobody, and I mean nobody, knew",
    "the agent ждал did not know, nobody 長い knew",  # other scripts inside a gap
    "On m'a mis en attente 40 minutes. Personne ne m'a rappelé",
    "ho chiamato tre volte e nessuno risponde",
    "llevo dos semanas llamando, he llamado cinco veces",
    "Ich habe zweimal angerufen; funktioniert nicht",
    "x" * 2000,
    "wait " * 300,
]


def texts() -> list[str]:
    return TRICKY + MORE + generated(400, seed=20)


def test_the_scan_never_leaves_out_a_pattern_that_matches() -> None:
    """For every shipped pattern: wherever the scan says "cannot match", the regex agrees."""
    rules = compiled_rules(load_taxonomy())
    assert rules.scan is not None
    assert rules.scan.unscanned == ()  # every shipped pattern translates
    run = checked = 0
    for text in texts():
        folded = FoldedText.of(text)
        found = rules.scan.may_match(folded.padded, folded.joined)
        assert found is not None
        for position, rule in enumerate(rules.patterns):
            assert rule.regex is not None
            target = folded.joined if rule.across_sentences else folded.padded
            if rule.regex.search(target):
                assert position in found, (rule.name, text)
            if may_match(rule.needles, target):
                checked += 1
        run += len(found)
    assert run < checked / 4  # it spares most of the runs the required strings let through


@pytest.mark.parametrize("seed", [4, 5])
def test_find_hits_is_the_same_with_and_without_the_scan(seed: int) -> None:
    rules = compiled_rules(load_taxonomy())
    plain = dataclasses.replace(rules, scan=None)
    for text in TRICKY + MORE + generated(200, seed=seed):
        folded = FoldedText.of(text)
        hits = find_hits(folded, rules)
        assert hits == find_hits(folded, plain) == reference_hits(folded, rules), text


def test_tricky_rules_with_the_scan(tmp_path: Path) -> None:
    """Lookbehinds, digits, an optional first word, a pattern across sentences, and a
    case-insensitive group, which is never translated and keeps its required-string check."""
    rules = tricky_rules(tmp_path)
    assert rules.scan is not None
    unscanned = [rules.patterns[position].source for position in rules.scan.unscanned]
    assert unscanned == ["(?i:polite)"]
    for text in ["not rude but rude", "POLITE polite", "called. again called again", *texts()]:
        folded = FoldedText.of(text)
        assert find_hits(folded, rules) == reference_hits(folded, rules), text


@pytest.mark.parametrize(
    ("category", "ascii_members"),
    [
        (r"\w", "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"),
        (r"\d", "0123456789"),
        (r"\s", "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "),
    ],
)
def test_classes_are_exact_on_ascii_and_take_every_other_character(
    category: str, ascii_members: str
) -> None:
    ascii_all = [chr(code) for code in range(128)]
    assert [c for c in ascii_all if re.fullmatch(category, c)] == list(ascii_members)
    negated = category.upper()
    scan = PatternScan.of([(0, category), (1, negated), (2, f"[{category}]"), (3, f"[^{negated}]")])
    for character in ascii_all:
        found = scan.may_match(character)
        assert found is not None
        inside = character in ascii_members
        assert {0, 2} <= set(found) if inside else not {0, 2} & set(found), character
        assert (1 in found) != inside, character
        assert 3 in found  # "none of the non-members": any character, a superset
    others = [chr(code) for code in range(128, 0x110000, 251) if not 0xD800 <= code < 0xE000]
    others += ["é", "ß", "Σ", "٣", "\u00a0", "\u3000", "長", "\U0001f621"]
    for character in others:
        found = scan.may_match(character)
        assert found is not None and {0, 1, 2, 3} <= set(found), hex(ord(character))


@pytest.mark.parametrize(
    ("pattern", "translated"),
    [
        (" (?:(?<!good )attitude)(?= )", r"\x{20}attitude"),
        (r"\bcall\b$", "call"),
        (r"(?:ab|c)+?d{2,5}", r"(?:(?:ab|c))+(?:d)+"),
        (r"x?+(?>y)", r"(?:x){0,1}(?:y)"),
        (r"[^a-c.]", r"[^\x{61}-\x{63}\x{2e}]"),
        (r"[^\w.]", r"(?s:.)"),
        (r"a.c", r"a(?s:.)c"),
    ],
)
def test_translation(pattern: str, translated: str) -> None:
    assert translate(pattern) == translated


@pytest.mark.parametrize("pattern", [r"(\w+) \1", r"(?i:polite)", r"(?i)polite", r"(a)?(?(1)b|c)"])
def test_what_is_never_translated(pattern: str) -> None:
    with pytest.raises(Untranslatable):
        translate(pattern)
    scan = PatternScan.of([(0, pattern), (1, "rude")])
    assert scan.unscanned == (0,)
    assert scan.may_match("so rude") == [1]


def test_letters_of_other_scripts_are_code_points() -> None:
    scan = PatternScan.of([(0, "ждал|長い"), (1, "[жд]+ x"), (2, "[^ж]a")])
    assert sorted(scan.may_match("я ждал") or []) == [0]
    assert sorted(scan.may_match("長い дж x") or []) == [0, 1]
    assert scan.may_match("жa") == [] and scan.may_match("ёa") == [2]


def test_a_translation_the_engine_refuses_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    real = pattern_scan.translate
    monkeypatch.setattr(pattern_scan, "translate", lambda p: "(unclosed" if p == "odd" else real(p))
    scan = PatternScan.of([(0, "rude"), (1, "odd"), (2, "late")])
    assert scan.unscanned == (1,)
    assert sorted(scan.may_match("rude and late") or []) == [0, 2]
    assert scan.may_match("odd") == []


def test_a_text_utf8_cannot_hold_is_read_the_old_way() -> None:
    rules = compiled_rules(load_taxonomy())
    assert rules.scan is not None
    assert rules.scan.within.may_match("rude \ud800") is None
    assert rules.scan.may_match(" rude \ud800 ", " rude ") is None


def test_a_failed_scan_runs_every_pattern_holding_its_strings(tmp_path: Path) -> None:
    rules = tricky_rules(tmp_path)
    assert rules.scan is not None
    folded = FoldedText.of("not rude but rude, waited 40 minutes")
    plain = dataclasses.replace(rules, scan=None)
    broken = dataclasses.replace(rules, scan=cast(RuleScan, _Failing(rules.scan)))
    assert patterns_to_run(folded, broken) == patterns_to_run(folded, plain)
    assert find_hits(folded, broken) == find_hits(folded, rules)


@dataclasses.dataclass(frozen=True)
class _Failing:
    real: RuleScan

    @property
    def unscanned(self) -> tuple[int, ...]:
        return self.real.unscanned

    def may_match(self, padded: str, joined: str) -> set[int] | None:
        return None


def test_scans_from_several_threads_agree() -> None:
    """Each thread scans with its own scratch space (the engine's is for one scan at a time)."""
    rules = compiled_rules(load_taxonomy())
    scan = rules.scan
    assert scan is not None
    folded = [FoldedText.of(text) for text in texts()]
    expected = [scan.may_match(f.padded, f.joined) for f in folded]
    results: list[bool] = []

    def work() -> None:
        for _ in range(3):
            results.append([scan.may_match(f.padded, f.joined) for f in folded] == expected)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 12


def test_a_taxonomy_without_patterns_or_across_patterns(tmp_path: Path) -> None:
    taxonomy = code('keywords=["on hold"]', id_="plain", label="Plain")
    rules = compiled_rules(load_and_compile(write(tmp_path, taxonomy), model=None))
    assert rules.scan is not None and rules.scan.may_match("  ", "  ") == set()
    assert [hit.rule.source for hit in find_hits(FoldedText.of("on hold"), rules)] == ["on hold"]


def test_the_same_patterns_reuse_one_scan(tmp_path: Path) -> None:
    first = compiled_rules(load_and_compile(write(tmp_path, code('patterns=["x+y"]')), None))
    second = compiled_rules(load_and_compile(write(tmp_path, code('patterns=["x+y"]')), None))
    assert first is not second and first.scan is second.scan
