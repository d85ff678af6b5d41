"""Small helpers for connection URLs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit


def with_query(url: str, **params: str) -> str:
    """``url`` with query parameters added or replaced (e.g. ``search_path`` for a test schema)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(params)
    return urlunsplit(parts._replace(query=urlencode(query)))


def with_login(url: str, user: str, password: str) -> str:
    """``url`` connecting as ``user`` with ``password`` instead (host, database, query kept)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(
        parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}")
    )


def path_under_root(scope: Mapping[str, Any]) -> str:
    """An ASGI request's path below the app's ``root_path`` (the whole path when it is not
    under it): what the app's own routes match, for shortcuts that route before the framework."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path + "/"):
        return path[len(root_path) :]
    return path
