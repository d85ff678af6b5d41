"""Which stored survey responses come from the same customer, across sources.

Interface:

- :func:`customer_keys` (pure) turns a response's ``customer`` (a :class:`~winback_shared.survey.
  Customer` or its stored JSON) into :class:`CustomerKeys`: the customer id, the e-mail key and
  the phone keys. Empty and garbage values give no key.
- :func:`matching_responses` (PostgreSQL) lists the other responses of the customer of one
  stored response, each with the keys that linked it, under a :class:`MatchRule`.
- :class:`CustomerMatchSettings` reads the rule (and the repeat-complainer window) from
  ``WINBACK_CUSTOMER_MATCH_*``.

The keys:

- **customer id**: trimmed; ``""``, ``"0"``, ``"unknown"``, ``"anonymous"``... are nobody. Ids
  are one source's numbering, so they match within a source, and across the sources named in
  ``shared_id_sources`` (those fed from one CRM).
- **e-mail**: trimmed and lower-cased, when it has the shape ``a@b.c`` and is not a no-reply.
- **phone**: the digits before any extension, ``00`` read as ``+``; 7 to 15 digits that are not
  one digit repeated. The key is the last 9 digits, which a number written nationally
  (``07700 900123``) and with its country code (``+44 7700 900123``) share; two numbers both
  written with a country code must also agree on the whole E.164 form.

Who is *not* matched: a phone or e-mail seen with more than ``max_ids_per_key`` distinct customer
ids in one id namespace is shared (a family landline, an office switchboard, a reseller's inbox)
and links nobody; and a response whose customer id differs from this one's, in the same
namespace, is somebody else whatever else it shares. The default of 1 errs towards missing a link:
a wrong one has an agent call a relative about someone else's complaint. The customer ids
themselves still link a shared phone's owners to their own responses.

A response matches when it shares a key with this response or with a response of the same
customer id; a matched response's own same-id responses come along (one id, one customer), but
links are not chained further, so one wrong key cannot pull in a whole other household.

The keys are defined twice on purpose: as IMMUTABLE SQL functions with expression indexes
(migration ``0018_customer_match.sql``; the phone's rewritten by ``0042``), so the router's
writes index them without any code on its path, and here, for code that holds a response in
hand. A test on PostgreSQL checks that both agree
over a corpus. Why not the ``phonenumbers`` package for E.164: the key must be computed inside
PostgreSQL for the index, where its metadata is not; a national number of unknown country cannot
become E.164 anyway, and the last-9-digits key matches it to its international form without it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from winback_shared.db import Connection
from winback_shared.survey import Customer

PHONE_TAIL_DIGITS = 9
_NOBODY_IDS = frozenset({"", "0", "-", "null", "none", "unknown", "anonymous", "n/a", "na"})
_NO_REPLY = frozenset({"noreply", "no-reply", "no_reply", "donotreply", "do-not-reply"})
_EMAIL = re.compile(r"[^@ \t\r\n]+@[^@ \t\r\n]+\.[^@ \t\r\n.]+")
_BEFORE_EXTENSION = re.compile(r"[^A-Za-z#;,]*")
_NOT_DIGIT = re.compile(r"[^0-9]")
_ONE_DIGIT_REPEATED = re.compile(r"(\d)\1*")


@dataclass(frozen=True)
class CustomerKeys:
    """The match keys of one response's customer; None where a value gave no key."""

    customer_id: str | None
    email: str | None
    phone_tail: str | None
    phone_e164: str | None


@dataclass(frozen=True)
class MatchRule:
    """How cautious matching is (see the module docstring)."""

    max_ids_per_key: int = 1
    shared_id_sources: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CustomerMatch:
    """Another response of the same customer, and the keys that linked it."""

    survey_response_id: int
    matched_by: tuple[str, ...]
    received_at: datetime
    """The response's ``received_at``: its month, so that a read of the response names it by
    ``(id, received_at)`` and scans that month's partition alone."""


class CustomerMatchSettings(BaseSettings):
    """``WINBACK_CUSTOMER_MATCH_*``: the matching rule and the repeat-complainer window."""

    model_config = SettingsConfigDict(env_prefix="WINBACK_CUSTOMER_MATCH_", extra="ignore")

    max_ids_per_key: Annotated[int, Field(ge=1)] = 1
    """A phone or e-mail seen with more customer ids than this (in one namespace) links nobody."""
    shared_id_sources: frozenset[str] = frozenset()
    """Sources sharing one customer-id numbering (JSON list); others match ids within a source."""
    repeat_window_days: Annotated[float, Field(gt=0)] = 90.0
    """A case whose customer had another response or case this recently marks a repeat."""

    def rule(self) -> MatchRule:
        """The rule :func:`matching_responses` applies."""
        return MatchRule(self.max_ids_per_key, self.shared_id_sources)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def id_key(value: object) -> str | None:
    """A customer id as a key, or None for a placeholder that names nobody."""
    text = _text(value)
    if text is None or text.strip(" ").lower() in _NOBODY_IDS:
        return None
    return text.strip(" ")


def email_key(value: object) -> str | None:
    """An e-mail address as a key: trimmed, lower-cased, shaped like one, not a no-reply."""
    text = _text(value)
    if text is None:
        return None
    email = text.strip(" ").lower()
    if not _EMAIL.fullmatch(email) or email.split("@", 1)[0] in _NO_REPLY:
        return None
    return email


def _phone_lead(text: str) -> str:
    match = _BEFORE_EXTENSION.match(text)
    assert match is not None  # the pattern matches the empty string
    return match.group().strip(" ")


def phone_digits(value: object) -> str | None:
    """A phone number's digits before any extension, ``00`` read as ``+``; None if implausible."""
    text = _text(value)
    if text is None:
        return None
    lead = _phone_lead(text)
    digits = _NOT_DIGIT.sub("", lead)
    if lead.startswith("00"):
        digits = digits[2:]
    if not 7 <= len(digits) <= 15 or _ONE_DIGIT_REPEATED.fullmatch(digits):
        return None
    return digits


def phone_tail(value: object) -> str | None:
    """A phone number's match key: its last 9 digits."""
    digits = phone_digits(value)
    return None if digits is None else digits[-PHONE_TAIL_DIGITS:]


def phone_e164(value: object) -> str | None:
    """The number in E.164 when written with its country code (``+`` or ``00``), else None."""
    digits = phone_digits(value)
    if digits is None or not re.match(
        r"\+|00", _phone_lead(value if isinstance(value, str) else "")
    ):
        return None
    return "+" + digits


def customer_keys(customer: Customer | Mapping[str, object]) -> CustomerKeys:
    """The match keys of a customer, as the SQL functions of migration 0018 compute them."""
    fields = customer.model_dump() if isinstance(customer, Customer) else customer
    phone = fields.get("phone")
    return CustomerKeys(
        customer_id=id_key(fields.get("id")),
        email=email_key(fields.get("email")),
        phone_tail=phone_tail(phone),
        phone_e164=phone_e164(phone),
    )


# $1 the response, $2 max ids per key, $3 the sources sharing one id numbering. Every lookup by
# key is a LATERAL subquery fenced with OFFSET 0, so it stays a parameterised scan of that key's
# expression index: joined plainly, the planner misjudges how few keys come out of the CTEs and
# hashes the whole table. The same for the lookup of the seed's rows by id, since the responses
# are month partitions (migration 0032): one key-index probe per partition, not a hash of all.
# The starting response is found in its own month: its key names it (migration 0039's index on
# response_keys.survey_response_id, the key kept in step with a data fix), so one partition is
# probed, not every month's.
_MATCHING_SQL = """
WITH me AS (
    SELECT id, received_at, source, customer_id_key(customer) AS cid,
           source = ANY($3::text[]) AS shared_ids
    FROM survey_responses
    WHERE id = $1
      AND received_at = (SELECT k.received_at FROM response_keys k WHERE k.survey_response_id = $1)
),
seed AS (
    SELECT id, received_at, source, cid FROM me
    UNION
    SELECT r.id, r.received_at, r.source, me.cid FROM me CROSS JOIN LATERAL (
        SELECT id, received_at, source FROM survey_responses
        WHERE customer_id_key(customer) = me.cid OFFSET 0) r
    WHERE r.source = me.source OR (me.shared_ids AND r.source = ANY($3::text[]))
),
seed_keys AS (
    SELECT DISTINCT customer_email_key(r.customer) AS email,
           customer_phone_tail(r.customer) AS tail, customer_phone_e164(r.customer) AS e164
    FROM seed CROSS JOIN LATERAL (
        SELECT customer FROM survey_responses
        WHERE id = seed.id AND received_at = seed.received_at OFFSET 0) r
),
emails AS (
    SELECT DISTINCT k.email FROM seed_keys k
    WHERE k.email IS NOT NULL AND NOT EXISTS (
        SELECT FROM survey_responses r
        WHERE customer_email_key(r.customer) = k.email AND customer_id_key(r.customer) IS NOT NULL
        GROUP BY CASE WHEN r.source = ANY($3::text[]) THEN '' ELSE r.source END
        HAVING count(DISTINCT customer_id_key(r.customer)) > $2)
),
phones AS (
    SELECT DISTINCT k.tail, k.e164 FROM seed_keys k
    WHERE k.tail IS NOT NULL AND NOT EXISTS (
        SELECT FROM survey_responses r
        WHERE customer_phone_tail(r.customer) = k.tail AND customer_id_key(r.customer) IS NOT NULL
        GROUP BY CASE WHEN r.source = ANY($3::text[]) THEN '' ELSE r.source END
        HAVING count(DISTINCT customer_id_key(r.customer)) > $2)
),
by_key AS (
    SELECT r.id, r.received_at, r.source, r.cid, 'email' AS via FROM emails e CROSS JOIN LATERAL (
        SELECT id, received_at, source, customer_id_key(customer) AS cid FROM survey_responses
        WHERE customer_email_key(customer) = e.email OFFSET 0) r
    UNION
    SELECT r.id, r.received_at, r.source, r.cid, 'phone' FROM phones p CROSS JOIN LATERAL (
        SELECT id, received_at, source, customer_id_key(customer) AS cid FROM survey_responses
        WHERE customer_phone_tail(customer) = p.tail
          AND (p.e164 IS NULL OR customer_phone_e164(customer) IS NULL
               OR customer_phone_e164(customer) = p.e164) OFFSET 0) r
),
linked AS (
    SELECT id, received_at, source, cid, 'id' AS via FROM seed
    UNION
    SELECT id, received_at, source, cid, via FROM by_key
    UNION
    SELECT r.id, r.received_at, r.source, b.cid, b.via FROM by_key b CROSS JOIN LATERAL (
        SELECT id, received_at, source FROM survey_responses
        WHERE customer_id_key(customer) = b.cid OFFSET 0) r
    WHERE r.source = b.source OR (b.source = ANY($3::text[]) AND r.source = ANY($3::text[]))
)
SELECT l.id, l.received_at, array_agg(DISTINCT l.via ORDER BY l.via) AS matched_by
FROM linked l CROSS JOIN me
WHERE l.id <> me.id
  AND NOT (me.cid IS NOT NULL AND l.cid IS NOT NULL AND l.cid <> me.cid
           AND (l.source = me.source OR (me.shared_ids AND l.source = ANY($3::text[]))))
GROUP BY l.id, l.received_at
ORDER BY l.id
"""


async def matching_responses(
    conn: Connection, *, survey_response_id: int, rule: MatchRule
) -> list[CustomerMatch]:
    """The other stored responses of this response's customer, oldest first (by stored id)."""
    rows = await conn.fetch(
        _MATCHING_SQL, survey_response_id, rule.max_ids_per_key, sorted(rule.shared_id_sources)
    )
    return [CustomerMatch(row["id"], tuple(row["matched_by"]), row["received_at"]) for row in rows]
