"""Where each thread of a process spends its wall time, from the kernel's side: on a CPU,
runnable but waiting for one, or asleep, and asleep in what.

    .venv/bin/python scripts/perf/thread_waits.py --pid PID --seconds 20 [--hz 200]

A measuring aid for ``docs/performance.md`` (section 23). py-spy ``--idle`` counts a thread
"active" whether it runs, waits for a CPU or waits for the GIL, so it cannot say where a
process that uses 70 % of a core spends the rest. The kernel can:

- ``/proc/PID/task/TID/schedstat`` gives each thread's exact nanoseconds on a CPU and waiting
  on a run queue (the machine's other work), read at the start and the end;
- ``/proc/PID/task/TID/syscall``, sampled ``--hz`` times a second, names the system call a
  sleeping thread is in: ``futex`` (a lock: the GIL's condition variable and mutex, or a
  worker thread waiting for work), ``epoll_wait`` (an event loop with nothing ready), socket
  calls. A ``futex`` is labelled by its address: the addresses the event loop's thread (the
  main thread) waits on are the GIL's, since it sleeps on no other lock (uvloop's loop polls
  in ``epoll_wait``); the others are a worker's queue.

Prints one block per thread with at least ``--min-cpu`` of a core: its CPU share, run-queue
share and the sampled shares of each state. Reads ``/proc`` only; needs the same user as the
process (or root).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

SYSCALLS = {
    "0": "read",
    "1": "write",
    "7": "poll",
    "23": "select",
    "44": "sendto",
    "45": "recvfrom",
    "46": "sendmsg",
    "47": "recvmsg",
    "202": "futex",
    "232": "epoll_wait",
    "281": "epoll_pwait",
    "441": "epoll_pwait2",
    "35": "nanosleep",
    "230": "clock_nanosleep",
    "270": "pselect6",
}
"""x86-64 system call numbers a Python service sleeps in (the rest are shown by number)."""


def schedstat(task: Path) -> tuple[int, int]:
    """(ns on a CPU, ns runnable on a run queue) of one thread so far."""
    on_cpu, queued, _ = (task / "schedstat").read_text().split()
    return int(on_cpu), int(queued)


def sample(task: Path) -> tuple[str, str]:
    """One thread's state now: ("running", "") in user space, or (system call, its first
    argument) while in the kernel; ("gone", "") if it ended."""
    try:
        fields = (task / "syscall").read_text().split()
    except (FileNotFoundError, ProcessLookupError):
        return "gone", ""
    if not fields or fields[0] == "running":
        return "running", ""
    if fields[0] == "-1":
        return "blocked (not a syscall)", ""
    return SYSCALLS.get(fields[0], f"syscall {fields[0]}"), fields[1] if len(fields) > 1 else ""


def record(pid: int, seconds: float, hz: float) -> dict[int, Counter[tuple[str, str]]]:
    """Every thread's sampled states over ``seconds``."""
    root = Path(f"/proc/{pid}/task")
    states: dict[int, Counter[tuple[str, str]]] = {}
    deadline = time.monotonic() + seconds
    period = 1.0 / hz
    while (now := time.monotonic()) < deadline:
        for task in root.iterdir():
            states.setdefault(int(task.name), Counter())[sample(task)] += 1
        time.sleep(max(0.0, period - (time.monotonic() - now)))
    return states


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--hz", type=float, default=200.0)
    parser.add_argument("--min-cpu", type=float, default=0.01, help="threads below: left out")
    args = parser.parse_args()
    root = Path(f"/proc/{args.pid}/task")
    before = {int(task.name): schedstat(task) for task in root.iterdir()}
    started = time.monotonic()
    states = record(args.pid, args.seconds, args.hz)
    wall_ns = (time.monotonic() - started) * 1e9
    after = {}
    for tid in states:
        try:
            after[tid] = schedstat(root / str(tid))
        except (FileNotFoundError, ProcessLookupError):
            continue
    gil = {arg for (call, arg) in states.get(args.pid, Counter()) if call == "futex"}
    total_cpu = 0.0
    for tid in sorted(after, key=lambda t: after[t][0] - before.get(t, (0, 0))[0], reverse=True):
        cpu = (after[tid][0] - before.get(tid, (0, 0))[0]) / wall_ns
        queued = (after[tid][1] - before.get(tid, (0, 0))[1]) / wall_ns
        total_cpu += cpu
        if cpu < args.min_cpu:
            continue
        name = "main (event loop)" if tid == args.pid else f"thread {tid}"
        print(f"{name}: on a CPU {cpu:6.1%}   runnable, waiting for a CPU {queued:6.1%}")
        counts = states[tid]
        samples = sum(counts.values())
        labelled: Counter[str] = Counter()
        for (call, arg), n in counts.items():
            if call == "futex":
                call = "futex: the GIL" if arg in gil else "futex: a worker's queue or a lock"
            labelled[call] += n
        for label, n in labelled.most_common():
            print(f"    {n / samples:6.1%}  {label}")
    print(f"process: {total_cpu:.1%} of a core over {wall_ns / 1e9:.1f} s")


if __name__ == "__main__":
    main()
