"""Stand-ins for vendor APIs (SurveyMonkey, Qualtrics), and an ingest on the real broker.

The real vendor APIs are out of reach in tests, so a small FastAPI app on 127.0.0.1 answers the
same paths with the same shapes (documents the test registers), checks the same credentials, and
can be told to fail first (a 500 then the document, a 404...). It counts requests per path so a
test can see what the router asked for.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.support import loopback_client, read_topic_records, serve
from winback_ingest.app import create_app
from winback_ingest.settings import IngestSettings
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.kafka import ensure_topics
from winback_shared.sources import Sources


class FakeVendorApi:
    """GET-only JSON documents by path, behind the vendor's own credential check."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.url = ""
        self.documents: dict[str, Any] = {}
        self.hits: Counter[str] = Counter()
        self._failures: defaultdict[str, list[int]] = defaultdict(list)

    def fail_next(self, path: str, *statuses: int) -> None:
        """Answer ``path`` with these statuses, in order, before serving its document."""
        self._failures[path].extend(statuses)

    def authorised(self, request: Request) -> bool:
        """Whether the request carries this API's token the vendor's way."""
        raise NotImplementedError

    def error(self, status: int, message: str) -> dict[str, Any]:
        """The vendor's error body."""
        raise NotImplementedError

    def app(self) -> FastAPI:
        """The fake API as an ASGI app."""
        app = FastAPI()

        @app.get("/{path:path}")
        async def read_document(path: str, request: Request) -> JSONResponse:
            full_path = "/" + path
            self.hits[full_path] += 1
            failures = self._failures[full_path]
            if failures:
                status = failures.pop(0)
                return JSONResponse(self.error(status, "injected failure"), status_code=status)
            if not self.authorised(request):
                return JSONResponse(self.error(401, "bad token"), status_code=401)
            document = self.documents.get(full_path)
            if document is None:
                return JSONResponse(self.error(404, "not found"), status_code=404)
            return JSONResponse(document)

        return app


class FakeSurveyMonkey(FakeVendorApi):
    """``/v3/surveys/{id}/details`` and ``/v3/surveys/{id}/responses/{id}/details``."""

    def add_survey(self, definition: dict[str, Any]) -> None:
        """Serve a survey definition under its id."""
        self.documents[f"/v3/surveys/{definition['id']}/details"] = definition

    def add_response(self, response: dict[str, Any]) -> None:
        """Serve a response's details under its survey and id."""
        path = f"/v3/surveys/{response['survey_id']}/responses/{response['id']}/details"
        self.documents[path] = response

    def authorised(self, request: Request) -> bool:
        """SurveyMonkey takes ``Authorization: Bearer <access token>``."""
        return request.headers.get("authorization") == f"Bearer {self.token}"

    def error(self, status: int, message: str) -> dict[str, Any]:
        """SurveyMonkey's error shape."""
        return {
            "error": {
                "id": "1020" if status == 404 else "1014" if status == 401 else "1050",
                "name": "Resource Not Found" if status == 404 else "Error",
                "docs": "https://api.surveymonkey.com/v3/docs#error-codes",
                "message": message,
                "http_status_code": status,
            }
        }


class FakeQualtrics(FakeVendorApi):
    """``/API/v3/surveys/{SurveyID}/responses/{ResponseID}``."""

    def add_response(self, survey_id: str, reply: dict[str, Any]) -> None:
        """Serve a response (``{"result": ..., "meta": ...}``) under its survey and id."""
        path = f"/API/v3/surveys/{survey_id}/responses/{reply['result']['responseId']}"
        self.documents[path] = reply

    def authorised(self, request: Request) -> bool:
        """Qualtrics takes ``X-API-TOKEN``."""
        return request.headers.get("x-api-token") == self.token

    def error(self, status: int, message: str) -> dict[str, Any]:
        """Qualtrics' error shape."""
        return {
            "meta": {
                "httpStatus": f"{status} - {message}",
                "error": {"errorMessage": message, "errorCode": f"Q_{status}"},
                "requestId": "00000000-0000-4000-8000-000000000000",
            }
        }


Api = TypeVar("Api", bound=FakeVendorApi)


@asynccontextmanager
async def running(api: Api) -> AsyncIterator[Api]:
    """Serve ``api`` on a free loopback port; ``api.url`` is its base URL meanwhile."""
    async with serve(api.app()) as url:
        api.url = url
        yield api


Published = Callable[[], Awaitable[list[tuple[SurveyReceived, str]]]]


@asynccontextmanager
async def ingest_on_kafka(
    infra_env: dict[str, object], sources: Sources
) -> AsyncIterator[tuple[httpx.AsyncClient, Published]]:
    """A real ingest on a loopback port and the real broker; ``published()`` reads back what it
    wrote to this test's topic, as (envelope, key) pairs."""
    settings = IngestSettings(**infra_env, sources=sources)  # type: ignore[arg-type]
    topic = settings.topics.survey_responses
    await ensure_topics(settings.kafka_bootstrap_servers, {topic: 1})

    async def published() -> list[tuple[SurveyReceived, str]]:
        records = await read_topic_records(settings.kafka_bootstrap_servers, topic)
        return [(SurveyReceived.from_bytes(value), key.decode()) for key, value in records]

    async with serve(create_app(settings)) as url, loopback_client(base_url=url) as client:
        yield client, published
