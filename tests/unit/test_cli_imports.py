"""``winback --help``, ``winback send`` and the outbound management commands load only what
they use.

Importing the services' frameworks made every ``winback send`` take seconds before it posted
anything (docs/performance.md). Each case runs in a fresh interpreter and reads ``sys.modules``
afterwards: which modules were loaded is a behaviour, unlike how long they took.
"""

from __future__ import annotations

import pytest

from tests.import_support import loaded_after, packages_in

HEAVY = (
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "pydantic",
    "asyncpg",
    "aiokafka",
    "numpy",
    "scipy",
    "sklearn",
    "winback_ingest",
    "winback_router",
    "winback_notifier",
    "winback_local.stack",
)
"""Top-level packages (and the stack module) the light commands must not import."""


def heavy_in(modules: set[str]) -> list[str]:
    """The heavy packages among ``modules``."""
    return packages_in(modules, HEAVY)


@pytest.mark.parametrize(
    "code",
    [
        "import winback_local.cli",
        # What `winback --help` runs: parsing the options, help printed, exit 0.
        "import contextlib, io, winback_local.cli as c\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    c.main(['--help'])",
        # What `winback send` runs once its options are parsed: its command module.
        "import winback_local.commands.send",
    ],
    ids=["import cli", "winback --help", "import send command"],
)
def test_the_light_commands_import_no_framework(code: str) -> None:
    assert heavy_in(loaded_after(code)) == []


def test_the_check_sees_heavy_imports_where_there_are_some() -> None:
    """Guards the test above: a heavy package imported shows (a module of it counts too)."""
    assert heavy_in(loaded_after("import json, asyncpg.pool")) == ["asyncpg"]


def test_the_outbound_management_commands_leave_the_outbound_process_unloaded() -> None:
    """``python -m winback_notifier.outbound list`` (or subscribe, pause, ...) needs PostgreSQL
    only; the outbound process's app and server were two thirds of its start-up."""
    loaded = loaded_after("import winback_notifier.outbound.cli")
    assert "winback_notifier.outbound.cli" in loaded
    assert (
        loaded & {"uvicorn", "winback_notifier.outbound.app", "winback_notifier.outbound.serve"}
        == set()
    )
