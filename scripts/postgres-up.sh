#!/usr/bin/env bash
# Installs PostgreSQL from Debian's packages if missing, starts a cluster of
# our own on 127.0.0.1, and creates the role and databases the service and
# its tests use. Safe to run twice: every step checks before it acts.
#
#   OKR_PG_PORT      port to listen on            (default 15432)
#   OKR_PG_CLUSTER   Debian cluster name          (default okr)
#   OKR_PG_USER      role the service uses        (default okr, password = same)
set -euo pipefail

port="${OKR_PG_PORT:-15432}"
cluster="${OKR_PG_CLUSTER:-okr}"
role="${OKR_PG_USER:-okr}"
password="${OKR_PG_PASSWORD:-okr}"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v pg_createcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "postgres-up: installing PostgreSQL from Debian's packages"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
fi

version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"

# Our own cluster, so a system cluster on 5432 (if any) is never touched.
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version $cluster"; then
  echo "postgres-up: creating cluster $version/$cluster on 127.0.0.1:$port"
  as_root pg_createcluster "$version" "$cluster" --port "$port" >/dev/null
fi

# Our settings live in a conf.d file rewritten on every run, so they stay true.
conf_dir="/etc/postgresql/$version/$cluster/conf.d"
as_root install -d -o postgres -g postgres "$conf_dir"
as_root tee "$conf_dir/okr.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
port = $port
max_connections = 200
shared_buffers = 256MB
unix_socket_directories = '/var/run/postgresql'
CONF

status="$(pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1==v && $2==c {print $4}')"
if [ "$status" != "online" ]; then
  # Containers often lack the runtime dir that systemd would have made.
  as_root install -d -o postgres -g postgres -m 2775 /var/run/postgresql
  as_root pg_ctlcluster "$version" "$cluster" start
fi

# Wait until it accepts connections (bounded).
for _ in $(seq 1 60); do
  if as_root runuser -u postgres -- psql -p "$port" -h /var/run/postgresql -qtAc 'select 1' >/dev/null 2>&1; then
    break
  fi
  sleep 0.5
done

psql_admin() { as_root runuser -u postgres -- psql -p "$port" -h /var/run/postgresql -v ON_ERROR_STOP=1 -qtA "$@"; }

if [ "$(psql_admin -c "select 1 from pg_roles where rolname = '$role'")" != "1" ]; then
  psql_admin -c "create role \"$role\" login createdb password '$password'"
fi
for db in okr okr_test; do
  if [ "$(psql_admin -c "select 1 from pg_database where datname = '$db'")" != "1" ]; then
    psql_admin -c "create database \"$db\" owner \"$role\""
  fi
done

echo "postgres-up: PostgreSQL $(psql_admin -c 'show server_version') on 127.0.0.1:$port" \
  "(OKR_DATABASE_URL=postgresql://$role:$password@127.0.0.1:$port/okr)"
