"""What the ``winback`` command costs before it does anything: imports and start-up, old and new.

    nice -n 15 .venv/bin/python scripts/perf/cli_startup.py --compare /tmp/old --rounds 5

``--compare`` names a checkout (or ``git archive`` of ``services shared deploy``) whose code is
the "before"; this checkout's is the "after". Each round runs, for before then after (then
after then before, the next round, so neither always goes first), each in a fresh interpreter
with that code first on ``PYTHONPATH``:

- **import cli**: ``python -X importtime -c "import winback_local.cli"``, the cumulative
  microseconds of ``winback_local.cli`` as ``-X importtime`` reports them;
- **import send**: the same for what ``winback send`` imports before posting
  (``winback_local.cli`` and, where it exists, ``winback_local.commands.send``);
- **--help**: wall time of the console script ``winback --help``;
- **send, no stack**: wall time of ``winback send --nps 2 --no-wait`` (``--no-wait`` only where
  the code has it) against an empty state folder: everything ``send`` loads and parses, up to
  the "no running stack" exit, without the HTTP round trip.

It prints every run, the medians and their ratios (after / before). Only ratios mean anything on
a shared machine; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[2]
PARTS = ("deploy/local", "shared", "services/ingest", "services/router", "services/notifier")
WINBACK = Path(sys.executable).with_name("winback")


def python_path(root: Path) -> str:
    """The packages of ``root`` first on the path, as the workspace installs them."""
    return os.pathsep.join(str(root / part) for part in PARTS)


def cumulative_us(stderr: str, module: str) -> int:
    """The cumulative import time of ``module`` from ``-X importtime`` output."""
    pattern = re.compile(rf"^import time:\s+\d+ \|\s+(\d+) \|\s*{re.escape(module)}$", re.M)
    found = pattern.findall(stderr)
    if not found:
        raise SystemExit(f"{module} not in -X importtime's output")
    return int(found[-1])


def import_us(env: dict[str, str], code: str, *modules: str) -> int:
    """Microseconds ``-X importtime`` gives ``modules`` (together) when ``code`` runs."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return sum(cumulative_us(done.stderr, module) for module in modules)


def wall(env: dict[str, str], argv: list[str], ok: tuple[int, ...] = (0,)) -> float:
    """Seconds ``argv`` takes from start to exit (its exit status among ``ok``)."""
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    took = time.perf_counter() - started
    if done.returncode not in ok:
        raise SystemExit(f"{argv} exited {done.returncode}: {done.stderr[-500:]}")
    return took


def measure(root: Path, state_dir: Path) -> dict[str, float]:
    """One run of every measure with ``root``'s code."""
    env = {**os.environ, "PYTHONPATH": python_path(root)}
    where = subprocess.run(
        [sys.executable, "-c", "import winback_local.cli as c; print(c.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not where.startswith(str(root)):
        raise SystemExit(f"{root}'s code did not run: winback_local.cli came from {where}")
    has_commands = (root / "deploy/local/winback_local/commands/send.py").exists()
    send_code = "import winback_local.cli" + (
        "; import winback_local.commands.send" if has_commands else ""
    )
    send_modules = ["winback_local.cli"]
    if has_commands:
        send_modules.append("winback_local.commands.send")
    send = [str(WINBACK), "send", "--nps", "2", "--state-dir", str(state_dir)]
    if has_commands:
        send.append("--no-wait")
    return {
        "import cli ms": import_us(env, "import winback_local.cli", "winback_local.cli") / 1000,
        "import send ms": import_us(env, send_code, *send_modules) / 1000,
        "--help s": wall(env, [str(WINBACK), "--help"]),
        "send, no stack s": wall(env, send, ok=(1,)),
    }


def main() -> None:
    """Alternate before and after, print each run and the medians' ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare", type=Path, required=True, help="the 'before' code's root")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    variants = {"before": args.compare.resolve(), "after": HERE}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    print(f"load average at start: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory() as empty:
        for round_ in range(args.rounds):
            order = list(variants) if round_ % 2 == 0 else list(reversed(variants))
            for name in order:
                result = measure(variants[name], Path(empty))
                runs[name].append(result)
                shown = "  ".join(f"{key} {value:8.3f}" for key, value in result.items())
                print(f"round {round_ + 1} {name:6} {shown}", flush=True)
    print(f"load average at end: {os.getloadavg()}")
    print(f"{'median':18} {'before':>10} {'after':>10} {'after/before':>13}")
    for key in runs["before"][0]:
        before = statistics.median(run[key] for run in runs["before"])
        after = statistics.median(run[key] for run in runs["after"])
        print(f"{key:18} {before:10.3f} {after:10.3f} {after / before:13.3f}")


if __name__ == "__main__":
    main()
