"""The console's one third-party browser file: Chart.js, served by the notifier itself.

The ops page draws its charts with Chart.js (see ``docs/operations.md`` for why that library).
It comes from the npm registry, pinned in the repository's ``package.json`` and
``package-lock.json`` and installed into the git-ignored ``node_modules/`` by
``scripts/bootstrap.sh``; the notifier serves that file from ``/vendor/chart.js`` so no page
ever loads a script from another origin and the Content-Security-Policy stays ``'self'``.
Its UMD build is used, not the ES module one: the latter imports ``@kurkle/color`` by a bare
name, which a browser resolves only through an import map, an inline script the CSP forbids.
"""

from __future__ import annotations

from pathlib import Path

CHART_JS = Path("node_modules") / "chart.js" / "dist" / "chart.umd.min.js"


def find_chart_js(configured: Path | None, *, start: Path | None = None) -> Path | None:
    """Where Chart.js is: ``configured`` if set, else the nearest ``node_modules`` copy above
    the working directory or ``start`` (by default this package), else ``None``."""
    if configured is not None:
        return configured if configured.is_file() else None
    here = start or Path(__file__).resolve().parent
    for base in (Path.cwd(), *here.parents):
        candidate = base / CHART_JS
        if candidate.is_file():
            return candidate
    return None
