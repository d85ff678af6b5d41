#!/usr/bin/env bash
# The whole check, exactly as CI runs it: lint, types, then every test on real Kafka,
# real PostgreSQL and a real Chromium. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh --browser

uv() { python3 -m uv "$@"; }
uv run --frozen ruff check .
uv run --frozen ruff format --check .
uv run --frozen mypy

# Tests mostly wait (on Kafka, PostgreSQL, a browser), so one worker more than the cores keeps
# them busy; the workers share one broker and one database server (tests/run_servers.py).
# TEST_WORKERS=0 runs everything in this process, as plain `pytest` does.
workers=${TEST_WORKERS:-$(($(nproc) + 1))}
status=0
uv run --frozen pytest --numprocesses "$workers" --dist worksteal "$@" || status=$?
if [[ $status -eq 5 ]]; then
  echo "test.sh: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit $status
