"""Malformed webhook deliveries for the fuzz test, reproducible from a seed.

Most cases start from a vendor's own documented example (so they get past the first checks and
reach deeper code) and then break one thing: a field removed, a value of the wrong type or out
of range, text where a number belongs, the body cut short. The rest are garbage outright: random
bytes, the wrong content type, bad or missing signatures.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass
from typing import Any

from tests.signers import SIGNERS
from winback_ingest.vendors import INTAKES
from winback_local.signing import new_secret
from winback_shared.sources import Vendor

SEED = 20261123
"""The fuzz test's seed: the same requests every run, so a failure can be replayed."""
SHORT_FORM = 2_500
"""How many requests CI sends (the full form, by hand, sends ten thousand)."""
DAMAGE = (
    "weird value at",
    "deleted",
    "object at",
    "whole body replaced",
    "body cut at",
    "signed random bytes",
    "signed with the wrong secret",
    "unsigned garbage",
)
"""Every kind of damage a request's ``mutation`` names (a document may carry several)."""

WEIRD_VALUES: list[Any] = [
    None,
    "",
    " ",
    -1,
    0,
    11,
    1e308,
    -1e308,
    "NaN",
    "Infinity",
    "10/10",
    "٣",
    "2026-13-45T99:99:99Z",
    "9999-12-31T23:59:59-14:00",  # valid ISO 8601, but no UTC time in Python's years
    "9999999999999999999999",
    True,
    [],
    {},
    [None, 1, "x"],
    {"nested": {"deeper": [1, {"x": None}]}},
    "<script>alert(1)</script>",
    "x" * 5000,
    "\u0000\u202e\ud7ff",
    "😡" * 50,
    "cut in half \ud83d",  # a lone surrogate: valid JSON, not UTF-8 (lone_surrogates)
]


@dataclass(frozen=True)
class FuzzRequest:
    """One request to send: which source, the bytes, the headers, and what was broken."""

    source: str
    body: bytes
    headers: dict[str, str]
    mutation: str


def secret_for(vendor: Vendor) -> str:
    """A secret in the form ``vendor`` signs with."""
    if vendor in (Vendor.GENERIC, Vendor.FORMBRICKS):
        return new_secret()
    if vendor == Vendor.SURVEYMONKEY:
        return "fuzz-api-key&fuzz-api-secret"
    return f"fuzz-secret-{vendor.value}-0123456789"


def every_vendor() -> dict[str, tuple[Vendor, str, dict[str, Any]]]:
    """One source per registered vendor: name -> (vendor, secret, documented example)."""
    return {
        f"fuzz-{vendor.value}": (vendor, secret_for(vendor), intake.example)
        for vendor, intake in INTAKES.items()
    }


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((*prefix, key))
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((*prefix, index))
            found += _paths(item, (*prefix, index))
    return found


def _set(document: Any, path: tuple[Any, ...], value: Any, *, delete: bool = False) -> None:
    target = document
    for step in path[:-1]:
        target = target[step]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value


def mutate_document(rng: random.Random, example: dict[str, Any]) -> tuple[Any, str]:
    """A copy of ``example`` with one or more things broken; returns it and what was done."""
    document: Any = copy.deepcopy(example)
    done = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        paths = _paths(document) if isinstance(document, dict | list) else []
        action = rng.choice(["replace", "replace", "delete", "whole", "add"])
        if action == "whole" or not paths:
            document = rng.choice([[], "text", 42, None, [example], {}])
            done.append("whole body replaced")
            break
        path = rng.choice(paths)
        if action == "delete":
            _set(document, path, None, delete=True)
            done.append(f"deleted {path}")
        elif action == "add":
            _set(document, path, {"unexpected": copy.deepcopy(rng.choice(WEIRD_VALUES))})
            done.append(f"object at {path}")
        else:
            _set(document, path, copy.deepcopy(rng.choice(WEIRD_VALUES)))
            done.append(f"weird value at {path}")
    return document, "; ".join(done)


def _qualtrics_message(example: dict[str, Any]) -> dict[str, Any]:
    """Qualtrics' example is a form; its signed content is the JSON in ``MSG``."""
    message = example.get("MSG")
    if isinstance(message, str):
        try:
            parsed = json.loads(message)
        except ValueError:
            return example
        return parsed if isinstance(parsed, dict) else example
    return example


def fuzz_requests(
    rng: random.Random,
    count: int,
    sources: dict[str, tuple[Vendor, str, dict[str, Any]]],
) -> list[FuzzRequest]:
    """``count`` malformed requests spread over ``sources`` (name -> vendor, secret, example)."""
    requests = []
    names = sorted(sources)
    for _ in range(count):
        name = rng.choice(names)
        vendor, secret, example = sources[name]
        sign = SIGNERS[vendor]
        kind = rng.random()
        if kind < 0.6:
            base = _qualtrics_message(example) if vendor == Vendor.QUALTRICS else example
            document, mutation = mutate_document(rng, base)
            payload = json.dumps(document).encode()
            body, headers = sign(secret, payload)
        elif kind < 0.7:
            payload = json.dumps(example).encode()
            cut = rng.randrange(0, max(1, len(payload)))
            body, headers = sign(secret, payload[:cut])
            mutation = f"body cut at {cut}"
        elif kind < 0.8:
            body, headers = sign(secret, rng.randbytes(rng.randrange(0, 600)))
            mutation = "signed random bytes"
        elif kind < 0.9:
            wrong = new_secret() if secret.startswith("whsec_") else secret[::-1] + "x"
            body, headers = sign(wrong, json.dumps(example).encode())
            mutation = "signed with the wrong secret"
        else:
            body = rng.randbytes(rng.randrange(0, 300))
            headers = {
                rng.choice(["webhook-signature", "typeform-signature", "sm-signature", "x"]): (
                    rng.randbytes(20).hex()
                )
            }
            mutation = "unsigned garbage"
        requests.append(FuzzRequest(name, body, headers, mutation))
    return requests
