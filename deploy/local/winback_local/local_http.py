"""HTTP for the ``winback`` command's calls to a local stack, on the standard library.

Not httpx, which the services use: importing httpx costs ``winback send`` more than all the rest
of its work (it loads its own command line's click and rich as well; docs/performance.md), for
two plain requests to 127.0.0.1. No proxy is ever used: the stack is on this machine, and a
proxy from the shell's environment could only get in the way.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Answer:
    """A response's status and body, whatever the status."""

    status_code: int
    text: str

    def json(self) -> Any:
        """The body parsed as JSON (``ValueError`` if it is not)."""
        return json.loads(self.text)


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> Answer:
    """Send one request; an error status is an answer too. A server that does not answer
    raises ``OSError`` (``urllib.error.URLError``, ``TimeoutError``, ``ConnectionError``)."""
    prepared = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with _OPENER.open(prepared, timeout=timeout) as reply:
            return Answer(reply.status, reply.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as refusal:
        with refusal:
            return Answer(refusal.code, refusal.read().decode("utf-8", "replace"))
