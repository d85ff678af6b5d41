"""Coding's fast paths give exactly what the straightforward code gives.

Three shortcuts serve the router's hot path (docs/performance.md, section 9): ``split_words``
skips work for ASCII words and one-space gaps, a pattern runs only over texts holding one of its
required strings (:mod:`winback_router.coding.prefilter`), and a keyword of whole words is
compared as one slice. Each is checked here against a plain reference written the slow way, on
tricky and on generated inputs: sentence ends, negations, contractions, accents, other
languages and scripts, emoji, empty text.
"""

from __future__ import annotations

import random
import re
import unicodedata
from pathlib import Path

import pytest

from tests.taxonomy_support import code, write
from winback_router.coding.compiler import CompiledRules, compiled_rules, load_and_compile
from winback_router.coding.negation import is_denied
from winback_router.coding.prefilter import may_match, required_strings
from winback_router.coding.rules import FoldedText, Hit, _match_pieces, find_hits
from winback_shared import folding
from winback_shared.folding import Word, split_words
from winback_shared.taxonomy import load_taxonomy

TRICKY = [
    "",
    " ",
    "...",
    "I didn't get a call back. Nobody called. Again!",
    "I didn\u2019t get a call back\u2026 nobody called; again",
    "Can't reach anyone, cannot get through, won't answer - ain't right",
    "Not rude at all, but the wait was 45 minutes on hold.\nThen they hung up",
    "Délai d'attente trop long. J'ai attendu 40 minutes! Rappelez-moi s'il vous plaît",
    "Die Wartezeit war zu lang \u2013 niemand hat zurückgerufen. Bitte um Rückruf",
    "Esperé dos horas y nadie me llamó. ¡Llámenme por favor!",
    "ÉNORME ATTENTE, ÇA NE VA PAS",
    "Cafe\u0301 au lait, na\u00efve re\u0301sume\u0301",  # combining accents, NFC matters
    "\uff26\uff55\uff4c\uff4c width and \ufb01 ligatures",  # NFKD folds both
    "😡😡 waited 3 hrs 😤 on hold!!! 👎",
    "長い間待たされた。誰も電話をくれなかった",
    "ждал на линии 40 минут, никто не перезвонил",
    "He said he'd call me back (he didn't). 1.5 hours later: nothing",
    "promised a callback... never came. I had to re-explain everything again and again",
    "don't t 't ' t didn't't isn't wasn't couldn't shouldn't mustn't needn't",
    "x_y __ a_b 1_000 e-mail re-explain",
    "the agent did not know the product and was rude",
    "put on hold for ages. on hold again.",
    "n/a",
]

ALPHABET = [
    *"abcdefghijklmnopqrstuvwxyz   ...,,;:!?'\u2019\n-\u2013()ÀéèçñüöøßİıΣς",
    "\u0301",
    "\u2026",
    "😀",
    "ﬁ",
    "_",
    "1",
    "5",
]


def generated(count: int, seed: int) -> list[str]:
    """Random texts mixing words of the default taxonomy's rules with noise and punctuation."""
    rng = random.Random(seed)
    vocabulary = [
        piece.rstrip("*")
        for rule in compiled_rules(load_taxonomy()).rules
        for piece in rule.words
        if piece != "..."
    ] + ["not", "never", "no", "nobody", "but", "didn't", "can't", "wasn\u2019t", "Délai", "hold"]
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(0, 40)):
            if rng.random() < 0.7:
                parts.append(rng.choice(vocabulary))
            else:
                parts.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 6))))
            parts.append(rng.choice([" ", " ", " ", ". ", ", ", "! ", "\n", " - ", "'", "  "]))
        texts.append("".join(parts))
    return texts


# The reference: split_words as written before the shortcuts.
def reference_split(text: str) -> list[tuple[str, int, int, int, int]]:
    text = unicodedata.normalize("NFC", text)
    words: list[tuple[str, int, int, int, int]] = []
    clause = sentence = previous_end = 0
    for match in re.finditer(r"[^\W_]+", text):
        decomposed = unicodedata.normalize("NFKD", match.group())
        folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
        folded = folded.replace("\u0142", "l")  # Polish "ł", which NFKD leaves whole
        start, end = match.span()
        gap = text[previous_end:start]
        if words and folding._CLAUSE_BREAK.search(gap):
            clause += 1
        if words and folding._SENTENCE_BREAK.search(gap):
            sentence += 1
        previous_end = end
        if folded == "t" and words and gap in ("'", "\u2019"):
            joined = words[-1][0] + "t"
            expanded = folding._expand_negation(joined)
            if expanded is not None or joined.endswith("nt"):
                head = expanded[0] if expanded else joined[:-2]
                _, first_start, _, first_clause, first_sentence = words.pop()
                words.append((head, first_start, end, first_clause, first_sentence))
                words.append(("not", first_start, end, first_clause, first_sentence))
                continue
        expanded = folding._expand_negation(folded)
        if expanded is not None:
            words.append((expanded[0], start, end, clause, sentence))
            words.append((expanded[1], start, end, clause, sentence))
        else:
            words.append((folded, start, end, clause, sentence))
    return words


# The reference: find_hits with every keyword walked piece by piece and every regex run.
def reference_hits(folded: FoldedText, rules: CompiledRules) -> list[Hit]:
    hits: dict[tuple[str, str, int], Hit] = {}
    words = folded.words
    for first, word in enumerate(words):
        for rule in rules.keywords.starting(word.text):
            key = (rule.code, rule.kind, rule.index)
            if key in hits:
                continue
            last = _match_pieces(rule.words, words, first)
            if last is None or (rule.negatable and is_denied(words, first)):
                continue
            hits[key] = Hit(rule, word.start, words[last].end)
    for rule in rules.patterns:
        assert rule.regex is not None
        across = rule.across_sentences
        for match in rule.regex.finditer(folded.joined if across else folded.padded):
            first = folded.word_at(match.start() + 1, joined=across)
            last = folded.word_at(match.end() - 1, joined=across)
            if rule.negatable and is_denied(words, first):
                continue
            hits[(rule.code, rule.kind, rule.index)] = Hit(
                rule, words[first].start, words[last].end
            )
            break
    return sorted(hits.values(), key=lambda hit: hit.start)


@pytest.mark.parametrize("text", TRICKY + generated(300, seed=12))
def test_split_words_is_the_plain_folding(text: str) -> None:
    assert [tuple(word) for word in split_words(text)] == reference_split(text)


def test_a_word_reads_as_before() -> None:
    word = split_words("Didn't")[0]
    assert (word.text, word.start, word.end, word.clause, word.sentence) == ("did", 0, 6, 0, 0)
    assert word == Word("did", 0, 6, 0, 0)
    with pytest.raises(AttributeError):
        word.text = "other"  # type: ignore[misc]


def test_polish_l_folds_like_an_accented_letter(tmp_path: Path) -> None:
    """NFKD leaves "ł" whole, so "wiedział" and "wiedzial" were two words until it was folded."""
    assert folding.fold("Nie wiedział, ŁÓDŹ") == "nie wiedzial, lodz"
    assert [word.text for word in split_words("ZEPSUŁ się")] == ["zepsul", "sie"]
    taxonomy = code('keywords=["nie wiedział"]\npatterns=["nie dziala"]')
    rules = compiled_rules(load_and_compile(write(tmp_path, taxonomy), model=None))
    for text in ("Konsultant nie wiedział nic.", "konsultant nie wiedzial nic", "Nie działa."):
        assert len(find_hits(FoldedText.of(text), rules)) == 1, text


def test_fold_of_ascii_is_casefold() -> None:
    for text in ("ABC def", "Straße", "İstanbul", "ÉTÉ", "ﬁne", "ǅ"):
        decomposed = unicodedata.normalize("NFKD", text)
        plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
        assert folding.fold(text) == plain


TRICKY_RULES = code(
    'keywords=["on hold", "call back", "nobody called", "promised ... call* back", '
    '"re-explain*", "didn\'t call", "hold", "a b c d"]\n'
    'patterns=["(?<!not )rude", "(?:waited|wait) (?:\\\\d+|forty) (?:minutes?|hrs?)", '
    '"(?#across sentences)called again", "(?:a|the)? ?queue", "x+y", '
    '"(?i:polite)", "(?:sorry|apolog\\\\w*)(?: \\\\w+){0,2} (?:again|twice)"]',
    id_="tricky",
    label="Tricky",
) + code(
    'keywords=["called", "again", "hold for ages"]\nnegatable=false', id_="other", label="Other"
)


def tricky_rules(tmp_path: Path) -> CompiledRules:
    return compiled_rules(load_and_compile(write(tmp_path, TRICKY_RULES), model=None))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_find_hits_equals_the_plain_walk_default_taxonomy(seed: int) -> None:
    rules = compiled_rules(load_taxonomy())
    for text in TRICKY + generated(150, seed=seed):
        folded = FoldedText.of(text)
        assert find_hits(folded, rules) == reference_hits(folded, rules), text


def test_find_hits_equals_the_plain_walk_tricky_rules(tmp_path: Path) -> None:
    rules = tricky_rules(tmp_path)
    texts = [
        "I was put on hold. Nobody called. Called again. on",
        "on hold",
        "hold",
        "a b c",
        "a b c d",
        "a b. c d a b c d",
        "they promised to call me back and didn't call",
        "they promised me they would call back",
        "not rude but rude",
        "waited 40 minutes waited forty hrs",
        "the queue queue",
        "xxxy xy y",
        "POLITE polite",
        "sorry again, apologised twice",
        "I had to re-explain it, re explaining again",
        "",
    ]
    for text in texts + TRICKY + generated(200, seed=7):
        folded = FoldedText.of(text)
        assert find_hits(folded, rules) == reference_hits(folded, rules), text


def test_a_whole_word_keyword_stops_at_a_sentence_end_and_the_text_end(tmp_path: Path) -> None:
    rules = tricky_rules(tmp_path)
    found = {hit.rule.source for hit in find_hits(FoldedText.of("on. hold a b c"), rules)}
    assert "on hold" not in found and "a b c d" not in found and "hold" in found
    found = {hit.rule.source for hit in find_hits(FoldedText.of("on hold a b c d"), rules)}
    assert {"on hold", "a b c d", "hold"} <= found


@pytest.mark.parametrize(
    ("pattern", "needles"),
    [
        (" (?:(?<!good )attitude)(?= )", (" attitude",)),  # a lookbehind takes no room
        (" (?:polic(?:y|ies))(?= )", (" polic",)),
        (" (?:(?:waited|wait) (?:\\d+|forty) (?:minutes?|hrs?))(?= )", (" wait",)),
        (" (?:(?:call|called|phoned) back)(?= )", (" back",)),
        (" (?:(?:hold|queue|wait)(?: \\w+){0,5} (?:forever|ages))(?= )", ("ages", "forever")),
        (" (?:\\w+ again)(?= )", (" again",)),
        (" (?:(?:a|the)? ?queue)(?= )", ("queue",)),
        (" (?:\\d+)(?= )", None),  # nothing literal
        (" (?:(?:late|)ness)(?= )", ("ness",)),
        (" (?:x+y)(?= )", None),  # "y" alone is too short to be worth a check
        (" (?:(?i:polite))(?= )", None),  # case-insensitive: no exact string
        ("(?i) (?:polite)(?= )", None),
        (" (?:ab(?=c)cd)(?= )", (" abcd",)),
        (" (?:(?:one|two|three|four|five|six|seven|x) times)(?= )", (" times",)),
    ],
)
def test_required_strings(pattern: str, needles: tuple[str, ...] | None) -> None:
    assert required_strings(pattern) == needles


def test_a_text_without_the_required_strings_has_no_match() -> None:
    """For every shipped pattern: wherever the check says "cannot match", the regex agrees."""
    rules = compiled_rules(load_taxonomy())
    texts = [FoldedText.of(text) for text in TRICKY + generated(400, seed=99)]
    skipped = 0
    for rule in rules.patterns:
        assert rule.regex is not None
        for folded in texts:
            text = folded.joined if rule.across_sentences else folded.padded
            if not may_match(rule.needles, text):
                skipped += 1
                assert rule.regex.search(text) is None, (rule.name, text)
    assert skipped  # the check does spare regex runs
    assert sum(rule.needles is not None for rule in rules.patterns) > len(rules.patterns) // 2
