#!/usr/bin/env bash
# bench/import-serving — look-ups while a municipality's FULL snapshot is
# imported into the same deployment.  Sets up a register of PERSONS
# (default 200,000) with an operator as bench/lookup does, with a FULL
# snapshot of IMPORTED persons (= PERSONS) for another municipality,
# then runs wrk -t2 -c64 look-ups by codice fiscale, once without an import
# (DURATION) and once for exactly as long as `visura import` of the
# snapshot takes.  Reports req/s, p50/p99 and non-2xx answers of both runs,
# and the import's time; fails when any answer during the import was not a
# 200.
# SHARED=1 (PostgreSQL): the shared state in a companion database of the
# same server (visura serve --shared-db), whose conninfo it prints.
#   [VPORT=P (18610)] [BACKEND=postgres [SHARED=1]] [THREADS=N] bench/import-serving/run.sh [PERSONS] [IMPORTED] [BUILD_DIR] [DURATION]
set -euo pipefail
cd "$(dirname "$0")/../.."
persons=${1:-200000}
imported=${2:-$persons}
build=${3:-build}
dur=${4:-10s}
for p in wrk; do command -v $p >/dev/null || { apt-get update -qq; apt-get install -y -qq wrk >/dev/null; }; done
[ -x "$build/visura" ] || scripts/build.sh "$build"
case $build in /*) V=$build/visura ;; *) V=$PWD/$build/visura ;; esac
work=$(mktemp -d /tmp/visura-bench-impserv.XXXXXX)
cleanup() {
  [ -n "${wrkpid:-}" ] && kill "$wrkpid" 2>/dev/null || true
  [ -f "$work/server.pid" ] && kill "$(cat "$work/server.pid")" 2>/dev/null || true
  sleep 0.5
  [ -n "${pgdir:-}" ] && scripts/pg.sh stop "$pgdir"
  rm -rf "$work"
}
trap cleanup EXIT
if [ -n "${KEEP:-}" ]; then trap - EXIT; echo "work dir: $work"; fi
vport=${VPORT:-18610}
db=$work/v.db
if [ "${BACKEND:-sqlite}" = postgres ]; then
  pgdir=$(mktemp -d /tmp/visura-bench-pg.XXXXXX); rmdir "$pgdir"
  db="postgres:$(scripts/pg.sh start "$pgdir")"
  export VISURA_STATE_DIR=$work
  if [ -n "${SHARED:-}" ]; then
    # the shared state in a companion database of the same server
    SHARED_DB="postgres:$(scripts/pg.sh createdb "$pgdir" visura_shared)"
    export SHARED_DB
    echo "companion database: $SHARED_DB"
  fi
fi
echo "back end: ${BACKEND:-sqlite}"
[ -n "${KEEP:-}" ] && echo "database: $db${pgdir:+ (server: $pgdir)}"
echo "== setting up $persons persons"
# Bologna's snapshot comes from the generator run that makes the register
# (bench/lookup/setup.py, ALSO_COMUNE): two runs could give one codice
# fiscale to a person of each, and the import rightly refuses a person
# registered in another municipality.  The run splits its persons evenly,
# hence IMPORTED = PERSONS.
if [ "$imported" != "$persons" ]; then
  echo "IMPORTED ($imported) must equal PERSONS ($persons): both come from one generator run" >&2
  exit 2
fi
ALSO_COMUNE=037006 python3 bench/lookup/setup.py "$V" "$work" "$persons" "$vport" "$db"
snap=$work/feed/037006-000001-FULL.tsv
echo "== the FULL snapshot of Bologna: $(grep -c '^PER' "$snap") persons"
[ "$(id -u)" -eq 0 ] && chown -R visura-bench "$work" 2>/dev/null || true

out() { grep -E "Requests/sec|  50%|  99%|Non-2xx|Socket errors|requests in" "$1" | sed 's/^/    /'; }
lookups() {  # $1: output file, $2...: extra wrk arguments
  local f=$1; shift
  COOKIE=$(cat "$work/cookie.txt") LIST=$work/cfs.txt KIND=cf \
    wrk -t2 -c64 --latency -s bench/lookup/lookup.lua "$@" "https://127.0.0.1:$vport" > "$f"
}
echo "-- look-ups by codice fiscale, no import (wrk -t2 -c64 -d$dur)"
lookups "$work/quiet.txt" -d"$dur"; out "$work/quiet.txt"

echo "-- look-ups by codice fiscale while the snapshot is imported"
# wrk itself in the background (not a subshell) under job control, so that
# SIGINT reaches it: it stops and prints what it measured.
set -m
COOKIE=$(cat "$work/cookie.txt") LIST=$work/cfs.txt KIND=cf \
  wrk -t2 -c64 --latency -s bench/lookup/lookup.lua -d3600s "https://127.0.0.1:$vport" > "$work/busy.txt" &
wrkpid=$!
set +m
sleep 1
t0=$(date +%s.%N)
if [ "$(id -u)" -eq 0 ] && [ "${BACKEND:-sqlite}" != postgres ]; then
  runuser -u visura-bench -- "$V" import --db "$db" --quiet "$snap"
else
  "$V" import --db "$db" --quiet "$snap"
fi
t1=$(date +%s.%N)
kill -INT "$wrkpid" 2>/dev/null || echo "wrk ended before the import (its 3600 s)"; wait "$wrkpid" || true; wrkpid=
out "$work/busy.txt"
echo "import of $imported persons: $(echo "$t1 - $t0" | bc -l | cut -c1-5) s"
"$V" audit verify --db "$db" | tail -n 1
if grep -q "Non-2xx\|Socket errors" "$work/busy.txt"; then echo "FAILED: answers lost during the import"; exit 1; fi
