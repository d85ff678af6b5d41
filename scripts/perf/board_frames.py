"""What one board keeps of its snapshot frames after many agents of one view signed in.

    .venv/bin/python scripts/perf/board_frames.py [--agents 1000] [--cards 500] [--compare DIR]

A console's ``snapshot`` frame is the board's cards with its cursor spliced in, and the cursor
names the agent, so consoles of different agents get frames of their own; the board keeps some
to share (``live.board.SharedBoard.snapshot_frame``). This makes a board of ``--cards`` cards
of about 4 KB each (the harness's cards are 3-4 KB), asks it for one frame per agent, and prints
how many frames it kept and the memory they hold (``tracemalloc``). With ``--compare DIR`` (a
``git archive`` of another commit's ``services`` and ``shared``) it runs the same in a child
process on that tree first (docs/performance.md, section 38).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parents[2]


def measure(agents: int, cards: int) -> str:
    """One line: the board's size, the frames kept, and what they hold."""
    from winback_notifier.live.board import SharedBoard  # the tree on the path

    comment = "w" * 4000
    cases = ",".join(f'{{"case_id":{number},"comment":"{comment}"}}' for number in range(cards))
    board = SharedBoard(f"[{cases}]", cards, datetime.now(UTC))
    tracemalloc.start()
    for agent in range(agents):
        board.snapshot_frame(f"v1.1764000000000000.{agent:016x}")
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    kept = len(board._frames)
    return (
        f"board {len(board.cases_json) / 2**20:.2f} MB, {agents} agents: {kept} frames kept, "
        f"{held / 2**20:.1f} MB held (peak {peak / 2**20:.1f} MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--cards", type=int, default=500)
    parser.add_argument("--compare", type=Path, help="another tree's services and shared")
    args = parser.parse_args()
    if args.compare is not None:
        tree = args.compare.resolve()
        path = os.pathsep.join(
            [
                str(tree / "services" / "notifier"),
                str(tree / "shared"),
                os.environ.get("PYTHONPATH", ""),
            ]
        )
        command = [
            sys.executable,
            __file__,
            f"--agents={args.agents}",
            f"--cards={args.cards}",
        ]
        other = subprocess.run(
            command,
            env={**os.environ, "PYTHONPATH": path},
            capture_output=True,
            text=True,
            check=True,
        )
        print(f"{tree}: {other.stdout.strip()}")
        print(f"{HERE}: {measure(args.agents, args.cards)}")
    else:
        print(measure(args.agents, args.cards))


if __name__ == "__main__":
    main()
