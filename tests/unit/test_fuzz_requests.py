"""The intake fuzz test's requests: its short form (CI's) still breaks every vendor every way."""

from __future__ import annotations

import random
from collections import defaultdict

from tests.fuzz_requests import DAMAGE, SEED, SHORT_FORM, every_vendor, fuzz_requests


def test_the_short_form_damages_every_vendor_every_way() -> None:
    sources = every_vendor()
    seen: dict[str, set[str]] = defaultdict(set)
    for request in fuzz_requests(random.Random(SEED), SHORT_FORM, sources):
        seen[request.source].update(kind for kind in DAMAGE if kind in request.mutation)
    assert {source: sorted(kinds) for source, kinds in seen.items()} == {
        source: sorted(DAMAGE) for source in sources
    }


def test_every_request_names_a_known_kind_of_damage() -> None:
    """So the test above counts every kind there is: a new kind must join ``DAMAGE``."""
    for request in fuzz_requests(random.Random(SEED), 500, every_vendor()):
        assert any(kind in request.mutation for kind in DAMAGE), request.mutation
