"""The harness's tables, as Markdown so a run can be pasted into the README as it is. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from winback_local.bench.experiments import (
    CALIBRATION_FACTOR,
    CLOSED_LOOP_CONNECTIONS,
    Calibration,
    ConsolesResult,
    SweepRow,
)

PROCESS_ORDER = ("ingest", "router", "notifier", "refiner", "kafka", "postgres", "loadgen")
"""Columns of the CPU table; several instances of one (``router``, ``router-2`` ...) each get
their own column, in instance order."""

PIPELINE = ("ingest", "router", "notifier", "kafka", "postgres")
"""The processes every response must pass through, whose CPU a response adds up to the
pipeline's: the refiner is left out (it re-codes when the hot path leaves it CPU, so its share
is what was spare, not a cost), and so is the generator (it is the measurement)."""


@dataclass
class Result:
    """Everything one run measured."""

    machine: str
    calibration: Calibration
    bare_rate: float = math.nan
    ingest_rate: float = math.nan
    kafka_rate: float = math.nan
    postgres_rate: float = math.nan
    consoles: list[ConsolesResult] = field(default_factory=list)
    sweep: list[SweepRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cut_short: bool = False
    """A sweep step failed (its generator ran out of time) and the rest were not run."""
    cores: int | None = None
    """The machine's CPUs, for the ceiling the pipeline's CPU a response implies."""

    @property
    def all_alerts(self) -> bool:
        """Did every accepted detractor reach every reading console, in every step?"""
        if self.cut_short:
            return False
        return all(r.alerts == r.expected and not r.failures for r in self.sweep) and all(
            c.fanout.delivered == c.fanout.expected for c in self.consoles
        )

    @property
    def sustained(self) -> float:
        """The highest alert rate of a sweep step that lost nothing (the pipeline's rate)."""
        rates = [r.alert_rate for r in self.sweep if r.alerts == r.expected and not r.failures]
        return max(rates, default=math.nan)


def rate(value: float) -> str:
    """A rate for a table."""
    return "-" if math.isnan(value) else f"{value:,.0f}/s"


def ratio(part: float, whole: float) -> str:
    """``part ÷ whole`` to two places."""
    if math.isnan(part) or math.isnan(whole) or whole == 0:
        return "-"
    return f"{part / whole:.2f}"


def calibration_line(c: Calibration, highest: float) -> str:
    """The first line of every run: can the generator outrun what it measures?"""
    verdict = (
        f"OK, the generator reaches {CALIBRATION_FACTOR}x the highest target rate ({rate(highest)})"
        if c.ok
        else f"NOT REACHED: below {CALIBRATION_FACTOR}x the highest target rate ({rate(highest)}); "
        "the figures below may measure the generator (if its lag behind schedule is large) or "
        "a machine too busy to serve even a bare endpoint"
    )
    errors = f", errors {c.failures}" if c.failures else ""
    return (
        f"calibration: offered {rate(c.offered)} open loop to a bare uvicorn endpoint "
        f"(plain ASGI), "
        f"{rate(c.achieved)} answered (ack p50 / p90 / p99 {c.ack.text()} ms; the generator's "
        f"own lag behind schedule p99 {c.slip.p99:.1f} ms{errors}): {verdict}"
    )


CLOSE_CAUSES = {
    "1013": "its queue was full",
    "1011": "no pong in time: uvicorn's ping timeout, not its queue",
}
"""What closed the console that stopped reading, by the close code the generator read: the
notifier's own bounded queue (``WINBACK_CLIENT_QUEUE_SIZE``, 1013) or uvicorn's keep-alive
ping (1011): a console that reads nothing answers no ping either."""


def _slow(states: list[dict[str, object]]) -> str:
    return "; ".join(_slow_one(s) for s in states)


def _slow_one(state: dict[str, object]) -> str:
    closed = str(state.get("closed"))
    text = f"{closed}, {state.get('frames_left')} frames unread"
    cause = CLOSE_CAUSES.get(closed.rpartition(" ")[2])
    return f"{text} ({cause})" if cause and closed.startswith("closed") else text


def _errors(failures: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(failures.items())) or "0"


def sweep_table(rows: list[SweepRow]) -> list[str]:
    """Offered rate against everything it caused."""
    lines = [
        "| offered | achieved (202/s) | alerts/s | ingest ack p50 / p90 / p99 ms "
        "| webhook → pop-up p50 / p90 / p99 ms | alerts received | router lag peak "
        "| drain after load | errors (non-202) | the console not reading |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        drain = "-" if math.isnan(r.drain_seconds) else f"{r.drain_seconds:.1f} s"
        lines.append(
            f"| {rate(r.offered)} | {rate(r.achieved)} | {rate(r.alert_rate)} | {r.ack.text()} "
            f"| {r.popup.text()} | {r.alerts:,} / {r.expected:,} | {r.peak_lag:,.0f} "
            f"| {drain} | {_errors(r.failures)} | {_slow(r.slow) or '-'} |"
        )
    return lines


def usage_table(rows: list[SweepRow]) -> list[str]:
    """CPU (100% = one core) and peak RSS of every process, per offered rate."""
    names = process_columns({name for r in rows for name in r.usage})
    lines = [
        "| offered | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for r in rows:
        cells = []
        for name in names:
            u = r.usage.get(name)
            cells.append("-" if u is None else f"{u.cpu_percent:.0f}% · {u.peak_rss_mb:.0f} MB")
        lines.append(f"| {rate(r.offered)} | " + " | ".join(cells) + " |")
    return lines


def cost_table(rows: list[SweepRow], cores: int | None) -> list[str]:
    """Milliseconds of one core each process spent a response alerted, per offered rate; the
    pipeline's sum, and the rate at which that cost would fill every core of the machine.

    A rate is how fast one run went on a machine shared with everything else; the CPU a
    response is what each process costs, steadier from run to run and the figure a target
    rate is checked against (``cores`` x 1,000 ms ÷ the pipeline's ms is the most this machine
    could carry at that cost). In a step whose alerts did not all arrive inside it, the work for
    those still queued is counted against fewer responses: the costs are upper bounds (≤) and
    the ceiling a lower bound (≥).
    """
    names = process_columns({name for r in rows for name in r.usage})
    pipeline = [n for n in names if n.partition("-")[0] in PIPELINE]
    others = [n for n in names if n not in pipeline]
    core_text = "its cores" if cores is None else f"its {cores} cores"
    lines = [
        "| offered | "
        + " | ".join(pipeline)
        + f" | pipeline | the rate that would fill {core_text} | "
        + " | ".join(others)
        + " |",
        "|---|" + "---|" * (len(names) + 2),
    ]
    for r in rows:
        bound, floor = ("", "") if r.complete else ("≤ ", "≥ ")
        costs = {name: r.cpu_ms_per_response(name) for name in names}
        total = sum(costs[name] for name in pipeline) if pipeline else math.nan
        ceiling = math.nan if cores is None or not total > 0 else cores * 1000 / total
        cells = [_ms(costs[name], bound) for name in pipeline]
        cells += [_ms(total, bound), "-" if math.isnan(ceiling) else f"{floor}{rate(ceiling)}"]
        cells += [_ms(costs[name], "") for name in others]
        lines.append(f"| {rate(r.offered)} | " + " | ".join(cells) + " |")
    return lines


def _ms(value: float, bound: str) -> str:
    return "-" if math.isnan(value) else f"{bound}{value:.2f}"


def process_columns(names: set[str]) -> list[str]:
    """``names`` in ``PROCESS_ORDER``, each service's instances together (``router``,
    ``router-2``, ..., ``router-10``); names outside the order are left out."""

    def place(name: str) -> tuple[int, int]:
        service, _, number = name.partition("-")
        return PROCESS_ORDER.index(service), int(number) if number.isdigit() else 1

    return sorted((n for n in names if n.partition("-")[0] in PROCESS_ORDER), key=place)


def consoles_table(results: list[ConsolesResult]) -> list[str]:
    """One alert to many consoles, while one more console has stopped reading; a ``bare`` row
    is the same generator against a bare fan-out (its own floor, in the same run)."""
    lines = [
        "| reading consoles (+1 not reading) | signed in | consoles lost | sign-in of all "
        "| sign-in p50 / p99 ms: connect · token → hello · snapshot "
        "| one alert to all p50 / p90 / p99 ms | each delivery p50 / p90 / p99 ms "
        "| notifier publish → written p50 / p99 ms "
        "| delivered | the console not reading | CPU s notifier · consoles (loadgen) "
        "| board reads / snapshots "
        "| before the first alert: after the last snapshot · generator CPU · pings read then "
        "/ during the alerts | refiner before the step "
        "| frames beside the alerts a console p50 / max (by type) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in results:
        slow = _slow(c.slow)
        cpu = " · ".join(_cpu(c, name) for name in ("notifier", "loadgen"))
        who = f"{c.reading:,}" if c.target == "notifier" else f"{c.reading:,}, bare fan-out"
        lines.append(
            f"| {who} | {c.signed_in:,} | {len(c.errors):,} | {c.connect_seconds:.1f} s "
            f"| {_signin(c)} | {c.fanout.to_all.text()} | {c.fanout.each.text()} "
            f"| {_written(c)} | {c.fanout.delivered:,} / {c.fanout.expected:,} "
            f"| {slow or '-'} | {cpu} | {_reads(c)} | {_quiet(c)} "
            f"| {'-' if c.settled is None else c.settled.text()} | {_frames(c)} |"
        )
    return lines


def _frames(result: ConsolesResult) -> str:
    """Frames each console read beside the alerts (0 / 0: one alert's fan-out, nothing else),
    and the types among them, per console on average."""
    frames = result.frames
    if frames is None:
        return "-"
    median, most = frames.per_console()
    consoles = max(len(frames.besides), 1)
    kinds = sorted(frames.by_type.items(), key=lambda item: (-item[1], item[0]))
    named = ", ".join(f"{kind} {count / consoles:,.1f}" for kind, count in kinds if count)
    return f"{median:,} / {most:,}" + (f" ({named})" if named else "")


def _quiet(result: ConsolesResult) -> str:
    """The pause before the alerts: every snapshot read, the generator idle (its CPU then)."""
    q = result.quiet
    if q is None:
        return "-"
    return (
        f"{q.after_snapshot:.1f} s · {q.cpu * 1000:,.0f} ms · "
        f"{q.pings_before:,} / {q.pings_during:,}"
    )


def _written(result: ConsolesResult) -> str:
    """The notifier's side of the fan-out (``≤``: histogram bucket bounds)."""
    p50, p99 = result.written
    if math.isnan(p50) or math.isnan(p99):
        return "-"
    return f"≤ {p50 * 1000:,.0f} / ≤ {p99 * 1000:,.0f}"


def _signin(result: ConsolesResult) -> str:
    """Each sign-in's stages, and the snapshot's size."""
    stages = [result.signin.get(stage) for stage in ("dial", "hello", "snapshot")]
    if any(p is None for p in stages):
        return "-"
    cells = " · ".join(f"{p.p50:,.0f} / {p.p99:,.0f}" for p in stages if p is not None)
    return f"{cells} ({result.snapshot_bytes / 1024:,.0f} KB)"


def _reads(result: ConsolesResult) -> str:
    """How many snapshots shared each board read (``-``: a notifier that does not count)."""
    if math.isnan(result.board_reads) or math.isnan(result.snapshots):
        return "-"
    return f"{result.board_reads:,.0f} / {result.snapshots:,.0f}"


def _cpu(result: ConsolesResult, process: str) -> str:
    """CPU seconds over the step, and the share of one core (it says how starved it was)."""
    usage = result.usage.get(process)
    if usage is None:
        return "-"
    return f"{result.cpu_seconds(process):.1f} s ({usage.cpu_percent:.0f}%)"


def baselines_table(result: Result) -> list[str]:
    """The ceilings measured in the same run, and the pipeline as a share of each."""
    sustained = rate(result.sustained)
    return [
        "| ceiling (same run) | rate | pipeline | pipeline ÷ ceiling |",
        "|---|---|---|---|",
        f"| HTTP: bare FastAPI endpoint on uvicorn, {CLOSED_LOOP_CONNECTIONS} connections, "
        "closed loop "
        f"| {rate(result.bare_rate)} | ingest {rate(result.ingest_rate)} "
        f"| {ratio(result.ingest_rate, result.bare_rate)} |",
        f"| Kafka: aiokafka produce → consume, same records | {rate(result.kafka_rate)} "
        f"| {sustained} end to end | {ratio(result.sustained, result.kafka_rate)} |",
        f"| PostgreSQL: asyncpg batched insert, same rows | {rate(result.postgres_rate)} "
        f"| {sustained} end to end | {ratio(result.sustained, result.postgres_rate)} |",
    ]


def render(result: Result) -> str:
    """The report that follows the calibration line (printed as soon as it is known)."""
    lines = [result.machine, ""]
    if result.sweep:
        title = "Sweep (one console listening, one more not reading):"
        lines += [title, "", *sweep_table(result.sweep), ""]
        lines += ["CPU (100% = one core) · peak RSS:", "", *usage_table(result.sweep), ""]
        lines += [
            "CPU a response (ms of one core: each process's CPU over the step ÷ the alerts it"
            " delivered):",
            "",
            *cost_table(result.sweep, result.cores),
            "",
        ]
    if result.consoles:
        lines += ["Consoles:", "", *consoles_table(result.consoles), ""]
    lines += ["Baselines:", "", *baselines_table(result), ""]
    lines += [f"note: {n}" for n in result.notes]
    verdict = "every alert received" if result.all_alerts else "ALERTS MISSING or errors"
    lines.append(f"verdict: {verdict}")
    return "\n".join(lines)
