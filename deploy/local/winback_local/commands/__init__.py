"""The ``winback`` sub-commands, one module each, imported only when that command runs.

:mod:`winback_local.cli` parses the options with nothing heavier than ``argparse`` loaded; a
command's module brings in what it needs (``run``: the stack with Kafka, PostgreSQL and the
services' clients; ``send``: signing and a plain HTTP post), so ``winback --help`` and
``winback send`` do not pay for ``winback run``'s imports.
"""
