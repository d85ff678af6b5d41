"""Fetching full responses from vendors whose webhooks carry only ids (SurveyMonkey, Qualtrics).

Retries with exponential backoff and jitter (tenacity) cover timeouts, connection errors, 429 and
5xx. What retrying cannot fix (401, 403, 404, a body that is not JSON) is ``VendorRejected``,
which the router dead-letters; a vendor still failing after every attempt is
``VendorUnavailable``, which the router treats like any transient outage: the batch is retried
and the offset is not committed, so nothing is lost while the vendor is down.

``httpx`` is imported, and the pooled client made, on the first fetch: most routers serve only
vendors whose webhooks carry the whole response, and the HTTP stack would add about 6 MB to
each of them for nothing (docs/performance.md section 36).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from winback_shared.lone_surrogates import json_without_lone_surrogates
from winback_shared.sources import VendorApi

if TYPE_CHECKING:
    import httpx


class VendorRejected(Exception):
    """The vendor answered, and the answer will not change on retry."""


class VendorUnavailable(Exception):
    """The vendor did not answer usefully after every attempt; try the batch again later."""


class _RetryableStatus(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class VendorApiClient:
    """One pooled HTTP client for every vendor API the router calls, made on the first call."""

    def __init__(self, client: httpx.AsyncClient | None = None, max_wait_seconds: float = 8.0):
        self._client = client
        self._max_wait = max_wait_seconds

    async def aclose(self) -> None:
        """Close pooled connections (if a fetch ever opened any)."""
        if self._client is not None:
            await self._client.aclose()

    def _pooled_client(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(follow_redirects=False)
        return self._client

    async def get_json(self, api: VendorApi, path: str, headers: dict[str, str]) -> Any:
        """GET ``api.base_url + path`` as JSON, retrying what may pass (an unpaired surrogate
        escape reads as U+FFFD: lone_surrogates)."""
        import httpx

        client = self._pooled_client()
        url = api.base_url.rstrip("/") + path
        retrying = AsyncRetrying(
            stop=stop_after_attempt(api.attempts),
            wait=wait_exponential_jitter(multiplier=0.2, max=self._max_wait, jitter=0.2),
            retry=retry_if_exception_type((httpx.TransportError, _RetryableStatus)),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    reply = await client.get(url, headers=headers, timeout=api.timeout_seconds)
                    if reply.status_code == 429 or reply.status_code >= 500:
                        raise _RetryableStatus(reply.status_code)
        except (httpx.TransportError, _RetryableStatus) as exc:
            raise VendorUnavailable(f"GET {path}: {exc!r} after {api.attempts} attempts") from exc
        if reply.status_code != 200:
            raise VendorRejected(f"GET {path}: HTTP {reply.status_code}")
        try:
            return json.loads(json_without_lone_surrogates(reply.text))
        except (ValueError, RecursionError):
            raise VendorRejected(f"GET {path}: the answer is not JSON") from None
