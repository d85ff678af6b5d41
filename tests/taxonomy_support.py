"""Helpers for the taxonomy and rule-compiler tests: a small taxonomy file written on the spot."""

from __future__ import annotations

from pathlib import Path


def write(tmp_path: Path, text: str) -> Path:
    """``text`` as ``taxonomy.toml`` in ``tmp_path``."""
    path = tmp_path / "taxonomy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def code(extra: str = "", id_: str = "a_code", label: str = "A") -> str:
    """One ``[[codes]]`` entry, with ``extra`` TOML lines (keywords, patterns, weight...)."""
    return f'[[codes]]\nid="{id_}"\nlabel="{label}"\n{extra}\n'
