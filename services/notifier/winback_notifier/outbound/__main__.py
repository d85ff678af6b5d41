"""``python -m winback_notifier.outbound``: see :mod:`winback_notifier.outbound.cli`."""

import sys

from winback_notifier.outbound.cli import main

sys.exit(main())
