"""One BLAS thread while a batch is coded: the coder's matrix products are too small for two.

The sentence encoder already runs on one thread (:mod:`~winback_router.coding.embeddings`), but
the model's own products ran on OpenBLAS's default, a thread per core: the nearest comments'
and the vote's products with the 6,540 training vectors, and the vote's bounds. Each is a few
million multiply-adds, so the second thread mostly spins waiting for its share, and on a
machine whose cores the router, ingest and PostgreSQL also want, it waits for a core as well:
the full model coded the bench's comment in about 30 % less CPU on one thread than on two
(docs/performance.md, section 28).

OpenBLAS splits a matrix-vector product between two threads otherwise than it sums it on one,
so the vote's similarities move in their last bit with the thread count, and the default made
a coding on a threshold's edge depend on the machine's number of cores. One thread everywhere
codes alike on every machine; on the 5,421 labelled comments it codes exactly as the two
threads did on this one (``scripts/perf/coding_same.py``).

The limit is the library's, for the whole process, while the block runs (threadpoolctl, which
the encoder's ``[fast]`` extra installs): the coder's callers run one batch at a time per
process, and anything else numpy does meanwhile merely runs on one thread too.
"""

from __future__ import annotations

import functools
from contextlib import AbstractContextManager
from typing import Any

from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]


@functools.cache
def _controller() -> Any:
    """The process's BLAS libraries, found once (a search of the loaded libraries)."""
    return ThreadpoolController()


def one_blas_thread() -> AbstractContextManager[Any]:
    """A block during which BLAS uses one thread, restored to what it was after."""
    limited: AbstractContextManager[Any] = _controller().limit(limits=1, user_api="blas")
    return limited
