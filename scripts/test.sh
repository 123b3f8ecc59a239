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

. .venv/bin/activate
echo "== ruff"; ruff check .
echo "== mypy --strict (domain, commands)"; mypy
if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  echo "== docker compose config"; docker compose config --quiet && echo "docker-compose.yml is valid"
fi
echo "== pytest"
export OKR_TEST_DATABASE_URL="${OKR_TEST_DATABASE_URL:-postgresql://okr:okr@127.0.0.1:${OKR_PG_PORT:-15432}/okr_test}"
export OKR_TEST_KAFKA_BOOTSTRAP="${OKR_TEST_KAFKA_BOOTSTRAP:-127.0.0.1:${OKR_KAFKA_PORT:-19092}}"
status=0
pytest "$@" || status=$?
echo "== test.sh finished in $((SECONDS - started)) s (exit $status)"
exit "$status"
