#!/usr/bin/env bash
# Stops the cluster that postgres-up.sh started; does nothing if it is not running.
set -euo pipefail
cluster="${OKR_PG_CLUSTER:-okr}"
command -v pg_lsclusters >/dev/null 2>&1 || exit 0
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
pg_lsclusters -h | while read -r version name _ status _; do
  if [ "$name" = "$cluster" ] && [ "$status" = "online" ]; then
    as_root pg_ctlcluster "$version" "$cluster" stop -m fast
    echo "postgres-down: stopped $version/$cluster"
  fi
done
