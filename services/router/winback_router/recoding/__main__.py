"""``python -m winback_router.recoding``: see :mod:`winback_router.recoding.cli`."""

import sys

from winback_router.recoding.cli import main

sys.exit(main())
