"""The services load rarely used libraries only when they are used.

Every notifier imports the export views and every router the vendor API client, but few export
Parquet and few serve vendors whose webhooks carry only ids. Arrow (``arro3``) and the HTTP
stack (``httpx``) added about 8 and 6 MB to each process's resident memory at start
(docs/performance.md section 36), so they are imported on first use.
"""

from __future__ import annotations

from tests.import_support import loaded_after, packages_in

RARELY_USED = ("arro3", "httpx")

MADE_AT_START = """
import winback_notifier.app, winback_router.app
from winback_router.adapters.base import AdapterContext
from winback_router.adapters.vendor_api import VendorApiClient
context = AdapterContext(api=VendorApiClient())
"""
"""The imports of both services' apps, and the vendor API client the router makes at start."""

PARQUET_EXPORT = """
import asyncio
from winback_notifier.reports.export_formats import ExportFormat, encode
async def no_rows():
    return
    yield
async def export():
    return b''.join([chunk async for chunk in encode(ExportFormat.PARQUET, no_rows())])
assert asyncio.run(export()).startswith(b'PAR1')
"""
"""An export of no rows through :func:`encode`, checked to be a Parquet file."""


def test_the_services_start_without_arrow_or_the_http_stack() -> None:
    loaded = loaded_after(MADE_AT_START)
    assert "winback_notifier.reports.export_views" in loaded
    assert packages_in(loaded, RARELY_USED) == []


def test_a_parquet_export_loads_arrow_when_asked_for() -> None:
    """Guards the test above: the check sees Arrow once a Parquet export ran (and the export
    through :func:`encode` still gives a Parquet file). Fetches through the lazily made vendor
    client are tested against fake vendor servers in tests/vendors."""
    loaded = loaded_after(PARQUET_EXPORT)
    assert packages_in(loaded, RARELY_USED) == ["arro3"]


def test_the_parquet_writer_is_imported_off_the_event_loop_s_thread() -> None:
    """Loading Arrow takes tenths of a second; the notifier's loop keeps serving meanwhile."""
    loaded = loaded_after(
        "import sys, threading\n"
        "importers = []\n"
        "class Watch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'arro3':\n"
        "            importers.append(threading.current_thread() is threading.main_thread())\n"
        "sys.meta_path.insert(0, Watch())\n"
        f"{PARQUET_EXPORT}\n"
        "assert importers == [False], importers"
    )
    assert "winback_notifier.reports.parquet_export" in loaded


def test_closing_a_client_that_never_fetched_imports_nothing() -> None:
    loaded = loaded_after(
        "import asyncio\n"
        "from winback_router.adapters.vendor_api import VendorApiClient\n"
        "asyncio.run(VendorApiClient().aclose())"
    )
    assert packages_in(loaded, RARELY_USED) == []
