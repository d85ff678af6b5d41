"""``python -m winback_notifier.agents``: see :mod:`winback_notifier.agents.cli`."""

import sys

from winback_notifier.agents.cli import main

sys.exit(main())
