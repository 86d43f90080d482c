#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on 127.0.0.1 in a temporary directory
# and prints the URL of an empty database. Installs Debian's postgresql if it
# is missing. Stop it with: .ci/pg.sh stop DIR
set -euo pipefail
if [ "${1:-}" = "stop" ]; then
  dir=$2
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit 0
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "installing postgresql from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
dir=$(mktemp -d /tmp/gigvault-pg.XXXXXX)
chown postgres:postgres "$dir"
port=${PGPORT_WANTED:-$((20000 + RANDOM % 20000))}
runuser -u postgres -- "$pgbin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
runuser -u postgres -- "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=300 -c shared_buffers=256MB" start >/dev/null
runuser -u postgres -- "$pgbin/createdb" -h 127.0.0.1 -p "$port" gigvault_test
echo "$dir postgres://postgres@127.0.0.1:$port/gigvault_test?sslmode=disable"
