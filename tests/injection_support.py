"""Hostile strings, and the free-text fields they must pass through, read from the schemas.

A field is *free text* when its schema lets any string through: type string, no enum, no
pattern, no format. Those are the ones an attacker controls: they reach SQL as parameters and
the console as text. The injection test covers each by name, and ``free_text_fields`` finds
them in the OpenAPI and JSON Schemas, so a new free-text field fails that test until it is
covered too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

HOSTILE = [
    "Robert'); DROP TABLE recovery_cases; --",
    "' OR '1'='1' --",
    "1; SELECT pg_sleep(30); --",
    '"; DELETE FROM agents WHERE "1"="1',
    "$1 $$ \\x00 E'\\\\' ::text",
    "<script>window.__pwned='script'</script>",
    "<img src=x onerror=\"window.__pwned='img'\">",
    "javascript:window.__pwned='href'",
    "<svg onload=\"window.__pwned='svg'\"></svg>",
    '"><iframe srcdoc="<script>parent.__pwned=\'iframe\'</script>"></iframe>',
    "{{constructor.constructor('window.__pwned=1')()}} ${window.__pwned=2}",
]
"""SQL that would break a query built by string formatting, and markup and URLs that would run
if rendered as HTML. NUL characters are left out: PostgreSQL cannot store them, and the APIs
refuse them with 422 (tests/integration/test_api_fuzz.py)."""


def hostile(label: str, index: int) -> str:
    """A hostile string naming the field it was sent in (to find it on the page)."""
    return f"[{label}] {HOSTILE[index % len(HOSTILE)]}"


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = target
    return schema


def free_text_fields(schema: dict[str, Any], root: dict[str, Any], path: str = "") -> Iterator[str]:
    """Dotted paths (``[]`` for list items) of the free-text strings in ``schema``."""
    schema = _resolve(schema, root)
    for option in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        yield from free_text_fields(option, root, path)
    kind = schema.get("type")
    if kind == "string" and not {"enum", "const", "pattern", "format"} & schema.keys():
        yield path
    elif kind == "array" and "items" in schema:
        yield from free_text_fields(schema["items"], root, f"{path}[]")
    for name, field in schema.get("properties", {}).items():
        yield from free_text_fields(field, root, f"{path}.{name}" if path else name)


def request_free_text(openapi: dict[str, Any]) -> set[str]:
    """``METHOD /path: field`` for every free-text field of every JSON request body."""
    found = set()
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            body = content.get("application/json", {}).get("schema")
            if body is not None:
                for field in free_text_fields(body, openapi):
                    found.add(f"{method.upper()} {path}: {field}")
    return found
