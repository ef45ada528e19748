#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and CI: its own data directory,
# 127.0.0.1 and a free port only, trust authentication on loopback (nothing
# else can reach it), stopped and removed by `stop`.  Run as root it runs
# the server as the `postgres` user (initdb refuses root); run as another
# user it runs the server as that user.
#
#   scripts/pg.sh start DIR          starts a server in DIR (created, must not
#                                    hold a server yet), creates database
#                                    "visura", prints its conninfo
#   scripts/pg.sh createdb DIR NAME  creates database NAME on DIR's server,
#                                    prints its conninfo
#   scripts/pg.sh conninfo DIR [NAME]  prints the conninfo of a database
#   scripts/pg.sh halt DIR           stops DIR's server, keeping its data
#   scripts/pg.sh resume DIR         starts a halted server again (same port)
#   scripts/pg.sh stop DIR           stops DIR's server and removes DIR
#
# visura takes the conninfo as --db "postgres:CONNINFO".
#
# PG_TEST_FSYNC=off (the test suite's servers only, never a benchmark's):
# the server does not ask the disk to flush (fsync = off).  What a test can
# see does not change: a commit is in the operating system's hands before
# it is answered, so a process killed (visura or PostgreSQL) loses nothing;
# only a crash of the machine would.  It makes CREATE and DROP DATABASE
# (a checkpoint each) and every commit cheaper: the suites make hundreds.
set -euo pipefail

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "pg.sh: PostgreSQL is not installed (scripts/deps.sh)" >&2; exit 3; }

usage() { sed -n '7,18p' "$0" >&2; exit 2; }

# Runs a PostgreSQL program as the server's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Starts the server of DIR on port $2.
server_start() {
  local fsync
  fsync=$(cat "$1/fsync" 2>/dev/null || echo on)
  as_owner "$bindir/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 30 start \
    -o "-c listen_addresses=127.0.0.1 -p $2 -k $1 -c max_connections=200 -c fsync=$fsync" \
    >/dev/null 2>&1
}

conninfo() {
  local dir=$1 name=${2:-visura}
  echo "host=127.0.0.1 port=$(cat "$dir/port") user=$(cat "$dir/user") dbname=$name"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || usage
case $cmd in
start)
  [ ! -e "$dir/data/PG_VERSION" ] || { echo "pg.sh: $dir already holds a server" >&2; exit 1; }
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  user=$(id -un)
  if [ "$(id -u)" -eq 0 ]; then
    user=postgres
    chown postgres: "$dir"
  fi
  echo "$user" > "$dir/user"
  # kept for `resume`
  if [ "${PG_TEST_FSYNC:-on}" = off ]; then echo off; else echo on; fi > "$dir/fsync"
  as_owner "$bindir/initdb" -D "$dir/data" -U "$user" --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 3; }
  # Another process may take a free port between the probe and the bind:
  # try a few.
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    echo "$port" > "$dir/port"
    if server_start "$dir" "$port"; then
      as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$user" visura
      conninfo "$dir"
      exit 0
    fi
  done
  echo "pg.sh: the server did not start; log:" >&2
  tail -n 20 "$dir/server.log" >&2 || true
  exit 3
  ;;
createdb)
  name=${3:-}
  [[ $name =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || { echo "pg.sh: bad database name '$name'" >&2; exit 2; }
  as_owner "$bindir/createdb" -h 127.0.0.1 -p "$(cat "$dir/port")" -U "$(cat "$dir/user")" "$name"
  conninfo "$dir" "$name"
  ;;
conninfo)
  conninfo "$dir" "${3:-visura}"
  ;;
halt)
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  ;;
resume)
  server_start "$dir" "$(cat "$dir/port")" || { tail -n 20 "$dir/server.log" >&2; exit 3; }
  ;;
stop)
  if [ -e "$dir/data/PG_VERSION" ]; then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
*)
  usage
  ;;
esac
