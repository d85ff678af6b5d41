"""Lone surrogates become U+FFFD (``winback_shared/lone_surrogates.py``), in JSON text and in
decoded text alike, and nothing else changes.

The expected text comes from a reading written here code point by code point (a high surrogate
followed by a low one is their pair, any other surrogate is U+FFFD), not from the module.
"""

from __future__ import annotations

import json

from hypothesis import example, given
from hypothesis import strategies as st

from winback_shared.lone_surrogates import json_without_lone_surrogates, without_lone_surrogates

CODE_POINTS = st.one_of(
    st.integers(0xD800, 0xDFFF),  # surrogates, high and low, often
    st.integers(0, 0x10FFFF),
    st.sampled_from([ord(c) for c in '\\u"dD8cf0']),  # what escapes are made of
)
TEXTS = st.lists(CODE_POINTS, max_size=24).map(lambda points: "".join(map(chr, points)))


def read_as_utf16(text: str) -> str:
    """``text`` as a UTF-16 reader sees it: pairs joined, any other surrogate replaced."""
    out: list[str] = []
    index = 0
    while index < len(text):
        point = ord(text[index])
        following = ord(text[index + 1]) if index + 1 < len(text) else 0
        if 0xD800 <= point < 0xDC00 and 0xDC00 <= following < 0xE000:
            out.append(chr(0x10000 + ((point - 0xD800) << 10) + (following - 0xDC00)))
            index += 2
            continue
        out.append("\ufffd" if 0xD800 <= point < 0xE000 else text[index])
        index += 1
    return "".join(out)


@given(TEXTS)
@example("\ud83d")  # an emoji cut in half, as a JavaScript sender can
@example("\ud83d\ude00")
@example("\ude00\ud83d")
@example("\\ud800\ud800")  # a backslash and the letters ud800, then a lone surrogate
def test_json_text_reads_as_utf16_would(text: str) -> None:
    document = json.dumps({text: [text, {"comment": text}]})  # ensure_ascii: escapes, as sent
    repaired = json_without_lone_surrogates(document)
    expected = read_as_utf16(text)
    assert json.loads(repaired) == {expected: [expected, {"comment": expected}]}
    repaired.encode()  # the escapes' text never holds a surrogate; what it reads to neither:
    json.dumps(json.loads(repaired), ensure_ascii=False).encode()


@given(TEXTS)
def test_decoded_text_reads_as_utf16_would(text: str) -> None:
    repaired = without_lone_surrogates(text)
    assert repaired == read_as_utf16(text)
    repaired.encode()


@given(st.text(st.characters(exclude_categories=["Cs"])))
def test_text_utf8_can_hold_is_returned_as_it_is(text: str) -> None:
    assert without_lone_surrogates(text) is text
    for document in (json.dumps(text), json.dumps(text, ensure_ascii=False)):
        assert json_without_lone_surrogates(document) == document


def test_an_escaped_backslash_is_not_an_escape() -> None:
    document = r'{"a": "\\ud800", "b": "\\\ud800", "c": "\\\\ud83d\ude00"}'
    assert json.loads(json_without_lone_surrogates(document)) == {
        "a": "\\ud800",  # a backslash and letters
        "b": "\\\ufffd",  # a backslash, then a lone surrogate
        "c": "\\\\ud83d\ufffd",  # two backslashes and letters, then a lone low surrogate
    }
