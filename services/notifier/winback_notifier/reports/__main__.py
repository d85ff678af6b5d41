"""``python -m winback_notifier.reports``: see :mod:`winback_notifier.reports.cli`."""

import sys

from winback_notifier.reports.cli import main

sys.exit(main())
