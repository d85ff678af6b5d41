"""Small helpers for connection URLs."""

from __future__ import annotations

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
