"""Pre-signed deliveries: signing happens before the clock starts, never while sending.

Each request is a detractor in the generic format, signed with the project's own Standard
Webhooks signing (:mod:`winback_local.signing`) and carrying a fresh ``response_id``, so every
one of them must open exactly one case and raise exactly one pop-up. Signatures carry the time
of signing and ingest accepts them for five minutes: sign each step's file just before it runs.
"""

from __future__ import annotations

import json
from pathlib import Path

from winback_local.signing import sample_response, signed_request

DETRACTOR_NPS = 2
PROMOTER_NPS = 10
REASON = "agent lacked product knowledge"
COMMENT = (
    "I called three times about the new plan and every agent gave me a different answer. The "
    "last one could not tell me what the monthly fee covers, whether the router is included, "
    "or when the discount ends, and put me on hold twice to ask a colleague who did not know "
    "either. I was promised a call back within the hour and nobody called. I have been a "
    "customer for eleven years and this is the first time I seriously thought about leaving. "
    "Please have somebody who knows the product call me before the end of the week."
)
"""A realistic complaint that makes each body about 1 KB, as vendors' bodies are."""


def write_signed(path: Path, secret: str, count: int, *, nps: int = DETRACTOR_NPS) -> list[str]:
    """Write ``count`` signed requests as JSON lines (id, headers, body); return their ids."""
    ids: list[str] = []
    with path.open("w") as out:
        for _ in range(count):
            payload = sample_response(nps=nps, reasons=[REASON], comment=COMMENT)
            body, headers = signed_request(secret, payload)
            ids.append(payload["response_id"])
            line = {"id": payload["response_id"], "headers": headers, "body": body.decode()}
            out.write(json.dumps(line) + "\n")
    return ids


def bodies(count: int) -> list[bytes]:
    """The same bodies, unsigned, for the ceilings that bypass HTTP."""
    return [
        json.dumps(sample_response(nps=DETRACTOR_NPS, reasons=[REASON], comment=COMMENT)).encode()
        for _ in range(count)
    ]
