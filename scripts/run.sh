#!/usr/bin/env bash
# Installs what is missing, then runs the whole pipeline locally until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
exec python3 -m uv run --frozen winback run "$@"
