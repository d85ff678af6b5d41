"""The retention job: old months of the audit trail, of closed cases and of the responses go to
archive files, then leave the database.

``python -m winback_shared.retention [--dry-run]``, run daily (or monthly) by a login in the
role ``winback_retention`` (migration 0025), the only path by which ``case_history`` rows are
ever removed. Tables are retired child first: ``case_history``, then ``recovery_cases``
(migration 0036; only a month whose cases are all closed and whose history has left, after the
rows of ``contact_attempts``, ``case_offers``, ``recode_changes`` and ``helpdesk_links`` that
refer to its cases, archived the same way; its ``case_keys`` go with it), then
``survey_responses`` (migration 0034; a month a kept case still refers to stays, and a retired
month's ``response_keys`` go with it). For each month partition older than the configured
retention, in order:

1. the partition's rows are written to ``<archive dir>/<table>/<partition>.<n>.jsonl.gz``
   (JSON Lines, gzip, one row per line in (case, seq) or id order) and a manifest beside it
   (``.manifest.json``: table, month, row count, time range, sha256 of the file, digest of the
   rows' hashes), each to a temporary name, flushed to disk, then renamed;
2. the file is read back and checked against the manifest (count, sha256, digest);
3. ``retention_drop_history_partition`` (``retention_drop_response_partition`` for responses)
   drops the partition, in one transaction with the record of the archive and each case's
   anchor (or the responses' keys), and only if the partition still holds exactly the
   archived rows (count and digest, under an exclusive lock).

A crash before 3 leaves the partition in place: the next run writes the same file again and
goes on. A crash during 3 rolls it back. After 3, the partition is gone and nothing is redone.
``--dry-run`` prints what would be archived and removed, and touches nothing.

Why JSON Lines rather than Parquet (which the exports write): this is evidence to be read
years from now, line by line, by whatever tool is at hand, with every hash in hex so a reader
can follow each case's chain across the archive and the kept rows; gzip brings it within a
small factor of Parquet's size for this text-heavy table. Why files rather than archive
tables: moving the rows to another table of the same database keeps them on the same disks
and in the same backups, which is what retention is for getting rid of.
"""
