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

status=0
uv run --frozen pytest "$@" || status=$?
if [[ $status -eq 5 ]]; then
  echo "test.sh: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit $status
