#!/usr/bin/env bash
# The one command that runs the whole test suite on a fresh machine: installs
# the Python packages, installs and starts PostgreSQL and Kafka, runs the
# linters and type checker, then pytest. A service that cannot start fails
# the run; nothing is skipped. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

bash scripts/install.sh
bash scripts/postgres-up.sh
bash scripts/kafka-up.sh
bash scripts/chromium-install.sh   # the dashboard's browser test drives a real Chromium

. .venv/bin/activate
echo "== ruff"; ruff check .
echo "== mypy --strict (every package)"; mypy
echo "== import contract (layers)"; lint-imports --no-cache
if command -v docker >/dev/null 2>&1; then
  # The docker client is here; validate docker-compose.yml as `docker compose config`
  # does (building the compose plugin once if the client lacks it).
  echo "== docker compose config"; bash scripts/compose-check.sh
fi
export OKR_TEST_DATABASE_URL="${OKR_TEST_DATABASE_URL:-postgresql://okr:okr@127.0.0.1:${OKR_PG_PORT:-15432}/okr_test}"
export OKR_TEST_KAFKA_BOOTSTRAP="${OKR_TEST_KAFKA_BOOTSTRAP:-127.0.0.1:${OKR_KAFKA_PORT:-19092}}"
status=0
# The benchmark suite once at tiny sizes, so it cannot rot (its report goes to a
# temporary directory; targets are reported, never asserted here).
if [ "$#" -eq 0 ]; then
  echo "== bench (smoke)"
  OKR_BENCH_ADMIN_URL="$OKR_TEST_DATABASE_URL" OKR_BENCH_KAFKA_BOOTSTRAP="$OKR_TEST_KAFKA_BOOTSTRAP" \
    python -m bench.run --smoke || status=$?
fi
echo "== pytest"
# Two workers (pytest-xdist): most tests wait on fsync and on servers, so two
# processes on two cores halve the wall time. OKR_TEST_WORKERS=0 runs in one.
pytest -n "${OKR_TEST_WORKERS:-2}" "$@" || status=$?
echo "== test.sh finished in $((SECONDS - started)) s (exit $status)"
exit "$status"
