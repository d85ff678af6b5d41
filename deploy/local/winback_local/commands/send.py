"""``winback send``: sign and post one response to the running stack, then say what became of it.

Imports stay light (signing on the standard library, :mod:`winback_local.local_http`): the
vendor signers, and pydantic with them, load only for ``--file --source`` of a user's source.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from winback_local.delivery_fate import Sent, report_fate
from winback_local.local_http import Answer, request
from winback_local.signing import sample_response, signed_headers, signed_request
from winback_local.stack_info import STATE_FILE, StackInfo, load_info

GENERIC = "generic"


@dataclass(frozen=True)
class Posting:
    """One signed delivery ready to post, and what identifies it to the router."""

    url: str
    body: bytes
    headers: dict[str, str]
    source: str
    response_id: str | None
    """The response id it carries, when ``winback send`` can tell (the generic format's
    ``response_id``); other vendors name it their own way."""


def send(args: argparse.Namespace) -> int:
    """Sign and post one response to the running stack: a sample built from the options to the
    demo source, or the JSON body of ``--file`` to the demo source or ``--source``; then, unless
    ``--no-wait``, wait up to ``--wait`` seconds for its fate. Exit 1 when ingest refused it or
    it became a dead letter."""
    info = load_info(args.state_dir / STATE_FILE.name)
    if args.source is not None and args.file is None:
        raise SystemExit("--source goes with --file: a sample (--nps) is for the demo source")
    if args.file is not None:
        if args.reason or args.comment or args.follow_up:
            raise SystemExit(
                "--reason, --comment and --follow-up shape a sample; with --file,"
                " write them into the file's JSON"
            )
        posting = file_request(info, args.file, sys.stdin, args.source)
        response = post(posting.url, posting.body, posting.headers)
        print(f"{response.status_code} {response.text}", flush=True)
    else:
        posting = sample_request(info, args)
        response = post(posting.url, posting.body, posting.headers)
        print(
            f"{response.status_code} {response.text}  (response_id {posting.response_id})",
            flush=True,
        )
    if response.status_code != 202:
        return 1
    if args.wait <= 0:
        return 0
    sent = Sent(response.json()["receipt_id"], posting.source, posting.response_id)
    line, dead = report_fate(info.router_url, info.agent_token, sent, args.wait)
    print(line, flush=True)
    return 1 if dead else 0


def sample_request(info: StackInfo, args: argparse.Namespace) -> Posting:
    """A sample response from the options, signed for the demo source."""
    payload = sample_response(
        nps=args.nps,
        reasons=args.reason or [],
        comment=args.comment,
        follow_up=args.follow_up,
        varied_customer=True,
    )
    source, secret = info.demo_signing()
    body, headers = signed_request(secret, payload)
    url = f"{info.ingest_url}/webhooks/{source}"
    return Posting(url, body, headers, source, payload["response_id"])


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST to ingest; an ingest that does not answer is a clear exit, not a traceback."""
    try:
        return request("POST", url, body=body, headers=headers, timeout=10)
    except OSError as failure:
        raise SystemExit(
            f"ingest at {url} does not answer ({failure}): is `make run` running?"
        ) from None


def file_request(
    info: StackInfo,
    path: str,
    stdin: TextIO,
    source: str | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Posting:
    """The delivery posting the JSON in ``path`` (``-``: stdin) to ``source`` as its vendor
    would: the demo source when none is named, else one of the user's sources (from
    ``environ``, as ``make run`` read them). Signed over exactly the bytes read, so what ingest
    verifies is what the user wrote."""
    payload, body = read_body(path, stdin)
    if source is None or source == info.source:
        if info.source is None:
            raise SystemExit(
                "this stack serves your own WINBACK_SOURCES, not the demo source: name the source"
                " to post to with --source NAME, with the same WINBACK_SOURCES /"
                " WINBACK_SOURCES_FILE exported in this shell (docs/sources.md)"
            )
        # The demo source is generic: Standard Webhooks over the body as written.
        name, secret = info.demo_signing()
        headers = signed_headers(secret, body)
        vendor = GENERIC
    else:
        # A user's source of any vendor: its signer, and its settings' validation, load here.
        from winback_local.vendor_signing import configured_source, vendor_request

        name, config = source, configured_source(environ, source)
        body, headers = vendor_request(config, payload, body)
        vendor = str(config.vendor)
    response_id = payload.get("response_id") if vendor == GENERIC else None
    return Posting(
        f"{info.ingest_url}/webhooks/{name}",
        body,
        headers,
        name,
        response_id if isinstance(response_id, str) else None,
    )


def read_body(path: str, stdin: TextIO) -> tuple[dict[str, Any], bytes]:
    """The bytes of ``path`` (``-``: stdin), refused with a clear exit unless a JSON object."""
    where = "stdin" if path == "-" else path
    try:
        text = stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as failure:
        raise SystemExit(f"cannot read {where}: {failure}") from None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as failure:
        raise SystemExit(
            f"{where} is not JSON ({failure}): `winback send --file` posts a JSON body as is"
        ) from None
    if not isinstance(parsed, dict):
        raise SystemExit(
            f"{where} holds JSON but not an object: a delivery is one response object, like the"
            " README's example under Sending survey responses"
        )
    return parsed, text.encode()
