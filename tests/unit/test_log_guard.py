"""The log guard itself: it finds what it must find, wherever in a line it hides."""

from __future__ import annotations

import logging

import pytest

from tests.log_guard import KeptLines, leaks, remember, remember_secret
from winback_local.signing import new_secret

log = logging.getLogger("winback.test")


def logged(kept_lines: KeptLines, emit: object) -> list[str]:
    """The lines ``emit`` wrote, taken out so this test's own guard does not fail on them."""
    start = len(kept_lines.lines)
    assert callable(emit)
    emit()
    lines = kept_lines.lines[start:]
    del kept_lines.lines[start:]
    return lines


def test_a_value_is_found_in_the_message_in_fields_and_in_an_exception(
    kept_lines: KeptLines,
) -> None:
    secret = new_secret()
    phone = "+1 555 0199"
    comment = 'Ça ne va pas: "rude" agent'

    def emit() -> None:
        log.info("sent with %s", secret)
        log.info("delivery", extra={"fields": {"phone": phone}})
        try:
            raise ValueError(f"cannot parse {comment!r}")
        except ValueError:
            log.exception("adapter failed")
        log.info("nothing to see")

    lines = logged(kept_lines, emit)
    found = leaks(lines, [secret, phone, comment])
    assert [value for value, _ in found] == [secret, phone, comment]


def test_info_lines_are_kept_as_in_production(kept_lines: KeptLines) -> None:
    lines = logged(kept_lines, lambda: logging.getLogger("winback.ingest").info("delivery 202"))
    assert len(lines) == 1 and '"level": "info"' in lines[0]


def test_short_values_are_not_remembered_and_a_secret_brings_its_key() -> None:
    from tests import log_guard

    secret = new_secret()
    remember("Sam", None, "x", secret)
    remember_secret(secret)
    assert "Sam" not in log_guard._remembered and "x" not in log_guard._remembered
    assert secret.removeprefix("whsec_") in log_guard._remembered
    log_guard._remembered.clear()


@pytest.mark.parametrize("value", ["dana@example.com", "tok_Ab12-_xyz"])
def test_nothing_is_found_where_nothing_is(value: str) -> None:
    assert leaks(['{"message": "delivery 202", "source": "survey"}'], [value]) == []
