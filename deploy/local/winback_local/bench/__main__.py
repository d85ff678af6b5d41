"""``python -m winback_local.bench``: calibrate, measure the baselines, sweep the rates."""

import sys

from winback_local.bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
