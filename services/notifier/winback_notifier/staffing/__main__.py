"""``python -m winback_notifier.staffing simulate``: a day on the floor, simulated, to check the
staffing forecast (see :mod:`winback_notifier.staffing.simulate`).

    simulate [--seed 1] [--days 30] [--factor 1 --factor 0.8] [--busy-minutes 20]
             [--prep-minutes 2] [--goal 0.95] [--lognormal] [--no-burst] [--unforeseen-burst]

Prints the table in docs/staffing.md and exits 1 when the forecast does not hold (the goal
missed at the recommended staffing, or met with fewer agents). Needs no database or broker.
"""

from __future__ import annotations

import argparse
import sys

from winback_notifier.staffing.check import format_check, run_check
from winback_notifier.staffing.forecast import Handling
from winback_notifier.staffing.simulate import Distribution
from winback_shared.deadlines import DEFAULT_CONTACT_TARGETS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="winback_notifier.staffing",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("simulate", help="replay synthetic days against agent bots")
    run.add_argument("--seed", type=int, default=1, help="the same seed gives the same table")
    run.add_argument("--days", type=int, default=30)
    run.add_argument("--factor", type=float, action="append", help="staffing x factor (repeat)")
    run.add_argument("--busy-minutes", type=float, default=20.0, help="claim to resolution, mean")
    run.add_argument("--prep-minutes", type=float, default=2.0, help="claim to first attempt")
    run.add_argument("--goal", type=float, default=0.95)
    run.add_argument("--lognormal", action="store_true", help="lognormal handling times")
    run.add_argument("--no-burst", action="store_true", help="no afternoon burst")
    run.add_argument(
        "--unforeseen-burst", action="store_true", help="a burst the forecast did not expect"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = _parser().parse_args(argv)
    if not 0 < args.goal < 1 or args.days < 1 or args.prep_minutes > args.busy_minutes:
        print("error: goal in (0, 1), days >= 1, prep <= busy minutes", file=sys.stderr)
        return 2
    factors = sorted(set(args.factor or [1.0, 0.8]) | {1.0}, reverse=True)
    distribution: Distribution = "lognormal" if args.lognormal else "exponential"
    check = run_check(
        seed=args.seed,
        days=args.days,
        factors=factors,
        handling=Handling(args.busy_minutes * 60, args.prep_minutes * 60, cases=0),
        targets_minutes=DEFAULT_CONTACT_TARGETS,
        goal=args.goal,
        distribution=distribution,
        burst=not args.no_burst,
        burst_foreseen=not args.unforeseen_burst,
    )
    print(format_check(check, distribution))
    return 0 if check.holds else 1


if __name__ == "__main__":
    sys.exit(main())
