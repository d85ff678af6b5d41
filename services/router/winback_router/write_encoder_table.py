"""``python -m winback_router.write_encoder_table``: write the sentence encoder's table file.

The file the encoder reads a row at a time (:mod:`winback_router.coding.embedding_rows`); the
container image runs this at build time, since its filesystem is read-only at run time. A
module of its own, outside ``winback_router.coding``, which already imports ``embedding_rows``
on its way to this command otherwise.
"""

from __future__ import annotations

from winback_router.coding.embedding_rows import package_weights, table_path, write_table


def main() -> None:
    """Write the table where the encoder looks for it and say where."""
    path = table_path()
    write_table(package_weights(), path)
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
