"""The webhook's OpenAPI request body: every vendor's format with an example, one endpoint.

The vendor is a property of the configured source, not of the URL, so one operation documents
all of them: the generic JSON Schema, and a named example per vendor.
"""

from __future__ import annotations

from typing import Any

from winback_ingest.bodies import FORM
from winback_ingest.vendors import INTAKES
from winback_shared.survey import GenericSurveyResponse

GENERIC_SCHEMA_PATH = "/schemas/generic.json"


def generic_schema() -> dict[str, Any]:
    """The generic format as a standalone JSON Schema, for senders to validate against."""
    schema = GenericSurveyResponse.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def webhook_openapi() -> dict[str, Any]:
    """``openapi_extra`` for ``POST /webhooks/{source}``."""
    json_examples: dict[str, Any] = {}
    form_examples: dict[str, Any] = {}
    for vendor, intake in INTAKES.items():
        example = {"summary": f"{vendor.value}: {intake.signing}", "value": intake.example}
        (form_examples if intake.content_type == FORM else json_examples)[vendor.value] = example
    content: dict[str, Any] = {
        "application/json": {
            "schema": {"type": "object"},
            "examples": json_examples,
        }
    }
    if form_examples:
        content[FORM] = {"schema": {"type": "object"}, "examples": form_examples}
    return {
        "requestBody": {
            "required": True,
            "description": (
                "The vendor's own payload, verified over the raw bytes with the vendor's "
                "signature scheme. The generic format's JSON Schema is at "
                f"`{GENERIC_SCHEMA_PATH}`."
            ),
            "content": content,
        }
    }
