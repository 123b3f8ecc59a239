#!/usr/bin/env bash
# The performance suite in one command: installs the Python packages, starts
# PostgreSQL and Kafka (each script is safe to re-run), then runs every
# benchmark with `python -m bench.run`. Extra arguments go to it:
#
#   scripts/bench.sh                 # full run: writes docs/benchmarks.md and bench/results.json
#   scripts/bench.sh --smoke         # tiny sizes, report in a temporary directory (CI)
#   scripts/bench.sh --only 1,6 --repeat 5 --output-dir /tmp/bench
#
# Targets are reported, not asserted: the exit status is non-zero only when the
# suite itself breaks.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install.sh
bash scripts/postgres-up.sh
bash scripts/kafka-up.sh

. .venv/bin/activate
export OKR_BENCH_ADMIN_URL="${OKR_BENCH_ADMIN_URL:-postgresql://okr:okr@127.0.0.1:${OKR_PG_PORT:-15432}/okr_test}"
export OKR_BENCH_KAFKA_BOOTSTRAP="${OKR_BENCH_KAFKA_BOOTSTRAP:-127.0.0.1:${OKR_KAFKA_PORT:-19092}}"
exec python -m bench.run "$@"
