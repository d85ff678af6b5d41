"""``python -m winback_router.dead_letters``: see :mod:`winback_router.dead_letters.cli`."""

import sys

from winback_router.dead_letters.cli import main

sys.exit(main())
