#!/usr/bin/env bash
# Installs what winback needs on a fresh machine (Python 3.11+, Java 17+, Maven; no Docker):
# uv and the locked Python dependencies, the Kafka broker jars from Maven Central, the ops page's
# Chart.js from the npm registry (package-lock.json, into node_modules/) and, with --browser,
# Debian's Chromium and Node.js for the console's browser and JavaScript tests. Safe to run
# again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
with_browser=false
[[ "${1:-}" == "--browser" ]] && with_browser=true

if ! python3 -m uv --version >/dev/null 2>&1; then
  echo "bootstrap: installing uv ${UV_VERSION}"
  python3 -m pip install --quiet --disable-pip-version-check "uv==${UV_VERSION}"
fi
python3 -m uv sync --frozen --quiet

if ! ls deploy/local/kafka-libs/kafka_2.13-*.jar >/dev/null 2>&1; then
  echo "bootstrap: fetching the Kafka broker from Maven Central"
  # Debian's Maven 3.8 writes raw reset escapes even when quiet: its output only if it fails.
  maven_log=$(mktemp)
  if ! mvn -q -B -Dstyle.color=never -f deploy/local/pom.xml dependency:copy-dependencies \
    >"$maven_log" 2>&1; then
    cat "$maven_log"
    rm -f "$maven_log"
    exit 1
  fi
  rm -f "$maven_log"
fi

# The browser tests need chromium; the console's JavaScript tests need node (Debian: nodejs);
# the ops page's charts need npm, once, to install Chart.js (the notifier serves that file).
# the alert rules are checked by promtool (Debian: prometheus, which ships it; the server is
# not started).
missing=()
if $with_browser; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
fi
charts_missing=false
if [[ ! -f node_modules/chart.js/package.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  charts_missing=true
  if ! command -v npm >/dev/null 2>&1 && { $with_browser || [[ $(id -u) -eq 0 ]]; }; then
    missing+=(npm)
  fi
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    echo "bootstrap: installing Debian's ${missing[*]} for the console, the alerts and their tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: ${missing[*]} missing; install with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

if $charts_missing; then
  if command -v npm >/dev/null 2>&1; then
    echo "bootstrap: installing the ops page's Chart.js from the npm registry (package-lock.json)"
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  else
    # make run still works: the ops page then shows its tables without charts.
    echo "bootstrap: npm missing, the ops page will have no charts; install with: sudo apt-get install npm" >&2
  fi
fi
