"""The compiled generator (``deploy/loadgen``, Go): built on demand, run, its records read.

Why Go and not Python: a Python asyncio sender topped out at about 150 requests/s on the
2-core machine, below what the pipeline takes, so it measured itself. The binary is built with
``go build`` the first time and again only when its sources change (cached by their hash in
``deploy/loadgen/.build/``, git-ignored); Go's module proxy supplies its one dependency.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from winback_local.bench.stats import Ack, Arrival
from winback_local.kafka import LOCAL_DIR

LOADGEN_DIR = LOCAL_DIR.parent / "loadgen"
BUILD_DIR = LOADGEN_DIR / ".build"


class BenchError(RuntimeError):
    """The harness cannot run as asked (its figures would be meaningless)."""


def source_hash(directory: Path = LOADGEN_DIR) -> str:
    """A digest of everything the binary is built from."""
    digest = hashlib.sha256()
    for path in sorted([*directory.glob("*.go"), directory / "go.mod", directory / "go.sum"]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build(directory: Path = LOADGEN_DIR) -> Path:
    """The generator's binary, built now unless this exact source was built before."""
    go = shutil.which("go")
    if go is None:
        raise BenchError(
            "the load harness needs Go 1.26+ (the `go` command) to build its generator in "
            f"{directory}; Go is part of this project's machine kind: install it and retry"
        )
    binary = directory / ".build" / f"loadgen-{source_hash(directory)}"
    if binary.exists():
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    partial = binary.with_name(f"{binary.name}.{os.getpid()}.partial")
    completed = subprocess.run(
        [go, "build", "-o", str(partial), "."],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if completed.returncode != 0:
        raise BenchError(f"go build failed in {directory}:\n{completed.stderr}")
    # Older builds stay: a run still going may be using one (delete .build/ at will).
    partial.replace(binary)
    return binary


@dataclass(frozen=True)
class Consoles:
    """Consoles the generator opens for the length of one run."""

    ws_url: str
    token: str
    reading: int
    slow: int = 0
    signin_limit: float = 120.0
    """Seconds for all of them to sign in; those still out are counted as lost."""
    settle: float = 0.0
    """Seconds the generator idles (its garbage collected first) between the last console's
    snapshot and the first alert, so the alerts do not share the machine with the sign-ins."""
    tokens_file: Path | None = None
    """Agents' tokens, one a line, used in turn by the consoles instead of ``token`` alone."""


@dataclass(frozen=True)
class Plan:
    """One run of the generator."""

    requests: Path
    url: str
    out: Path
    rate: float = 0.0
    """Requests per second, open loop; 0 for closed loop over ``connections``."""
    duration: float = 0.0
    """Closed loop only: seconds after which no request starts."""
    connections: int = 256
    consoles: Consoles | None = None
    alert_wait: float = 60.0
    cpu_profile: Path | None = None
    """Where the generator writes its own CPU profile (``go tool pprof``), if anywhere."""

    def argv(self, binary: Path) -> list[str]:
        """The command line."""
        args = [
            str(binary),
            f"-requests={self.requests}",
            f"-url={self.url}",
            f"-out={self.out}",
            f"-rate={self.rate}",
            f"-duration={self.duration}s",
            f"-connections={self.connections}",
            f"-alert-wait={self.alert_wait}s",
        ]
        if self.cpu_profile is not None:
            args.append(f"-cpuprofile={self.cpu_profile}")
        if self.consoles is not None:
            args += [
                f"-ws={self.consoles.ws_url}",
                f"-token={self.consoles.token}",
                f"-consoles={self.consoles.reading}",
                f"-slow={self.consoles.slow}",
                f"-signin-limit={self.consoles.signin_limit}s",
                f"-settle={self.consoles.settle}s",
            ]
            if self.consoles.tokens_file is not None:
                args.append(f"-tokens-file={self.consoles.tokens_file}")
        return args


@dataclass
class Records:
    """What one run recorded."""

    acks: list[Ack]
    arrivals: list[Arrival]
    summary: dict[str, Any] = field(default_factory=dict)
    signins: list[dict[str, int]] = field(default_factory=list)
    """Each signed-in console's sign-in stages (``signin.csv``: microseconds, and bytes)."""


def start(binary: Path, plan: Plan) -> subprocess.Popen[bytes]:
    """Start a run; the caller waits for it (and samples it meanwhile)."""
    plan.out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOMAXPROCS": os.environ.get("GOMAXPROCS", "2")}
    return subprocess.Popen(
        plan.argv(binary), stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )


def finish(process: subprocess.Popen[bytes], plan: Plan, timeout: float) -> Records:
    """Wait (bounded) for a run and read its records; a failed run is an error, not a figure."""
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise BenchError(f"the generator did not finish within {timeout:.0f} s") from None
    if process.returncode != 0:
        raise BenchError(f"the generator failed ({process.returncode}): {stderr.decode()[-2000:]}")
    return read_records(plan.out)


def read_records(out: Path) -> Records:
    """Parse ``acks.csv``, ``alerts.csv`` and ``signin.csv`` (if consoles ran) and
    ``summary.json``."""
    with (out / "acks.csv").open() as acks_file:
        acks = [
            Ack(
                index=int(row["index"]),
                scheduled_us=int(row["scheduled_us"]),
                started_us=int(row["started_us"]),
                done_us=int(row["done_us"]),
                status=int(row["status"]),
                error=row["error"],
            )
            for row in csv.DictReader(acks_file)
        ]
    arrivals: list[Arrival] = []
    alerts_path = out / "alerts.csv"
    if alerts_path.exists():
        with alerts_path.open() as alerts_file:
            arrivals = [
                Arrival(int(row["console"]), int(row["index"]), int(row["arrival_us"]))
                for row in csv.DictReader(alerts_file)
            ]
    signins: list[dict[str, int]] = []
    signins_path = out / "signin.csv"
    if signins_path.exists():
        with signins_path.open() as signins_file:
            signins = [
                {key: int(value) for key, value in row.items()}
                for row in csv.DictReader(signins_file)
            ]
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return Records(acks, arrivals, summary, signins)
