# The OKR service: one image for all three processes.
#   okr serve --host 0.0.0.0 --port 8000   (default: the HTTP API)
#   okr project                            (projection runner)
#   okr consume                            (Kafka consumer of okr.issue-events)
# Configure it with OKR_* environment variables (see docker-compose.yml). With
# no OKR_DATABASE_URL it runs embedded, SQLite under OKR_DATA_DIR.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OKR_DATA_DIR=/var/lib/okr \
    OKR_PORT=8000

# A fixed uid, so that a mounted data directory can be chowned to it.
RUN groupadd --system --gid 10001 okr \
    && useradd --system --uid 10001 --gid okr --home-dir /var/lib/okr --no-create-home \
        --shell /usr/sbin/nologin okr \
    && mkdir -p /var/lib/okr /app \
    && chown okr:okr /var/lib/okr /app

WORKDIR /src
# README.m[d]: copied when present (pyproject's readme), no error when absent.
COPY pyproject.toml constraints.txt README.m[d] ./
COPY domain/ domain/
COPY commands/ commands/
COPY projections/ projections/
COPY api/ api/
COPY consumers/ consumers/
COPY entrypoints/ entrypoints/
# A regular (not editable) install: the code lives in site-packages, /src is
# only the build input and is removed in the same layer.
RUN pip install --no-cache-dir -c constraints.txt . \
    && rm -rf /src

WORKDIR /app
USER okr
EXPOSE 8000

# Meant for `okr serve`; the compose file disables it for `okr project` and
# `okr consume`, which serve no HTTP. No curl in the slim image: python it is.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/v1/health' % os.environ.get('OKR_PORT', '8000'), timeout=4)"]

CMD ["okr", "serve", "--host", "0.0.0.0", "--port", "8000"]
