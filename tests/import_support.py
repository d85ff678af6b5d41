"""What a fresh interpreter has imported after running some code.

Which modules a command or a service loads is a behaviour (what it costs in start-up time and
resident memory follows from it), so tests check ``sys.modules`` rather than timings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    names: list[str] = json.loads(done.stdout.splitlines()[-1])
    return set(names)


def packages_in(modules: set[str], packages: Iterable[str]) -> list[str]:
    """The ``packages`` among ``modules`` (a package counts if any of its modules is in)."""
    return sorted({p for p in packages for m in modules if m == p or m.startswith(f"{p}.")})
