#!/usr/bin/env bash
# The one command that runs the service in its embedded default (SQLite under
# .okr/, projections and ingestion in-process): installs, then `okr serve`.
# Extra arguments go to `okr serve` (e.g. --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/okr serve "$@"
