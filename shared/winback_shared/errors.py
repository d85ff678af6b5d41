"""The one error shape every rejection uses: ``{"error": {"code": ..., "message": ...}}``."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(Exception):
    """A rejection with an HTTP status, a stable machine code and a human message."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """Build the JSON error body."""
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    """Make framework errors (404 route, 405, validation) use the same shape as ours."""

    async def on_api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    async def on_http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    async def on_validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, "invalid_request", str(exc.errors()))

    async def on_unstorable_value(_: Request, exc: Exception) -> JSONResponse:
        refusal = unstorable_value(exc)
        if refusal is None:
            raise exc  # a data error of our own making stays a 500, logged
        return error_response(422, *refusal)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(asyncpg.DataError, on_unstorable_value)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)


NUL_CHARACTERS = (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError)
"""What PostgreSQL answers for U+0000 in text (22021) and in JSON text (22P05)."""


def unstorable_value(exc: BaseException) -> tuple[str, str] | None:
    """The 422 code and message for a request value PostgreSQL cannot hold, else ``None``.

    Two kinds reach the database from any text or integer field a request carries: a NUL
    character (no PostgreSQL text or JSON string can hold one) and an integer beyond 64 bits
    (asyncpg refuses to encode it). Both are the caller's mistake, found by fuzzing every API
    (docs/security.md), and answering 422 here covers every field, present and future, instead
    of a length of validators. Any other data error is ours and stays a 500.
    """
    if isinstance(exc, NUL_CHARACTERS):
        return "invalid_text", "text may not contain NUL (U+0000) characters"
    if type(exc) is asyncpg.DataError and str(exc).startswith("invalid input for query argument"):
        return "invalid_value", "a number is out of range (at most 64 bits)"
    return None
