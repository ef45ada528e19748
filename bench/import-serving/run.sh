#!/usr/bin/env bash
# bench/import-serving — look-ups while a municipality's FULL snapshot is
# imported into the same deployment.  Sets up a register of PERSONS
# (default 200,000) with an operator as bench/lookup does, with a FULL
# snapshot of IMPORTED persons (= PERSONS) for another municipality,
# then runs wrk -t2 -c64: nginx serving a small static file over HTTPS
# (the machine's reference, same run), look-ups by codice fiscale without
# an import (DURATION), for exactly as long as `visura import` of the
# snapshot takes, and AFTER windows of DURATION after it (default 2).
# Reports req/s, p50/p99, non-2xx answers and socket errors of each run,
# the load average, and the import's time; fails when any answer during
# the import was not a 200.
# PostgreSQL: the shared state in a companion database of the same server
# (visura serve --shared-db, as the tests run; SHARED=0: in the register's
# database), whose conninfo it prints; pg_stat_activity sampled every
# second from the import to the last window into WORK/pgact.txt (summed at
# the end by phase: the wait events of the server's connections); the WAL
# the import wrote and the checkpoints during it.  PGCONF="name=value ...":
# settings of the throwaway server (ALTER SYSTEM, then a restart) before
# the set-up, e.g. the ones docs/deployment.md recommends.
# Each wrk run starts once the server has closed the previous run's
# connections: until it has, they count towards per_ip_connections (64,
# wrk's -c64), and wrk would count the refused ones as connect errors.
# The server's own time per look-up, 10 s at a time, from its log
# (timeline.py).
# OUT=DIR: the server's log, wrk's outputs and the samples copied there.
# LOGINS=N: also N clients sending failed logins (an unknown name: anyone
# can) during the import, each from its own loopback address
# (bench/import-serving/logins.py), and how they were answered.
#   [VPORT=P (18610)] [LOGINS=N] [NPORT=P (18611)] [BACKEND=postgres [SHARED=0] [PGCONF=...]] [AFTER=N] [OUT=DIR] [THREADS=N] bench/import-serving/run.sh [PERSONS] [IMPORTED] [BUILD_DIR] [DURATION]
set -euo pipefail
cd "$(dirname "$0")/../.."
persons=${1:-200000}
imported=${2:-$persons}
build=${3:-build}
dur=${4:-10s}
for p in wrk nginx; do command -v $p >/dev/null || { apt-get update -qq; apt-get install -y -qq wrk nginx-light >/dev/null; }; done
[ -x "$build/visura" ] || scripts/build.sh "$build"
case $build in /*) V=$build/visura ;; *) V=$PWD/$build/visura ;; esac
work=$(mktemp -d /tmp/visura-bench-impserv.XXXXXX)
cleanup() {
  [ -n "${wrkpid:-}" ] && kill "$wrkpid" 2>/dev/null || true
  [ -n "${samplerpid:-}" ] && kill "$samplerpid" 2>/dev/null || true
  [ -n "${loginspid:-}" ] && kill "$loginspid" 2>/dev/null || true
  [ -f "$work/nginx/nginx.pid" ] && kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null || true
  if [ -n "${OUT:-}" ]; then
    mkdir -p "$OUT"; cp "$work"/*.txt "$work"/*.log "$OUT/" 2>/dev/null || true
    [ -n "${pgdir:-}" ] && cp "$pgdir/server.log" "$OUT/postgresql.log" 2>/dev/null || true
  fi
  [ -f "$work/server.pid" ] && kill "$(cat "$work/server.pid")" 2>/dev/null || true
  sleep 0.5
  [ -n "${pgdir:-}" ] && scripts/pg.sh stop "$pgdir"
  rm -rf "$work"
}
trap cleanup EXIT
if [ -n "${KEEP:-}" ]; then trap - EXIT; echo "work dir: $work"; fi
vport=${VPORT:-18610}; nport=${NPORT:-18611}
db=$work/v.db
if [ "${BACKEND:-sqlite}" = postgres ]; then
  pgdir=$(mktemp -d /tmp/visura-bench-pg.XXXXXX); rmdir "$pgdir"
  db="postgres:$(scripts/pg.sh start "$pgdir")"
  export VISURA_STATE_DIR=$work
  if [ -n "${PGCONF:-}" ]; then
    for kv in $PGCONF; do psql "${db#postgres:}" -Xqc "ALTER SYSTEM SET ${kv%%=*} = '${kv#*=}'"; done
    scripts/pg.sh halt "$pgdir"; scripts/pg.sh resume "$pgdir"
    echo "PostgreSQL settings: $PGCONF"
  fi
  if [ "${SHARED:-1}" != 0 ]; then
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

. bench/serving.sh   # out, drained, lookups
phase() { [ -n "${pgdir:-}" ] && echo "phase|$1" >> "$work/pgact.txt" || true; }
bench/nginx-reference.sh "$work/nginx" "$work/tls" "$nport"
echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "-- nginx static file over HTTPS (wrk -t2 -c64 -d$dur)"
wrk -t2 -c64 -d"$dur" --latency "https://127.0.0.1:$nport/" > "$work/nginx.txt"; out "$work/nginx.txt"
kill "$(cat "$work/nginx/nginx.pid")"

echo "-- look-ups by codice fiscale, no import (wrk -t2 -c64 -d$dur)"
lookups "$work/quiet.txt" -d"$dur"; out "$work/quiet.txt"

echo "-- look-ups by codice fiscale while the snapshot is imported"
# wrk itself in the background (not a subshell) under job control, so that
# SIGINT reaches it: it stops and prints what it measured.
drained
pgq() { psql "${db#postgres:}" -XAtc "$1"; }
if [ -n "${pgdir:-}" ]; then
  lsn0=$(pgq "SELECT pg_current_wal_lsn()"); ckpt0=$(pgq "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter")
fi
set -m
COOKIE=$(cat "$work/cookie.txt") LIST=$work/cfs.txt KIND=cf \
  wrk -t2 -c64 --latency -s bench/lookup/lookup.lua -d3600s "https://127.0.0.1:$vport" > "$work/busy.txt" &
wrkpid=$!
set +m
sleep 1
if [ -n "${pgdir:-}" ]; then
  echo "phase|import" > "$work/pgact.txt"
  # every second: the server's connections (not the sampler's), what they
  # run and wait for, their transaction's age and xmin
  (while :; do psql "${db#postgres:}" -XAtF'|' -c "SELECT to_char(now(), 'HH24:MI:SS'),
      datname, pid, coalesce(application_name, ''), backend_type, coalesce(state, ''),
      coalesce(wait_event_type, '') || '/' || coalesce(wait_event, ''),
      round(extract(epoch FROM now() - xact_start)::numeric, 1), age(backend_xmin),
      regexp_replace(left(query, 70), '\s+', ' ', 'g')
    FROM pg_stat_activity WHERE pid <> pg_backend_pid()" 2>/dev/null
    echo "load|$(cut -d' ' -f1-3 /proc/loadavg)"; sleep 1; done) >> "$work/pgact.txt" &
  samplerpid=$!
fi
if [ -n "${LOGINS:-}" ]; then
  python3 -B bench/import-serving/logins.py "$vport" "$LOGINS" > "$work/logins.txt" &
  loginspid=$!
fi
t0=$(date +%s.%N)
if [ "$(id -u)" -eq 0 ] && [ "${BACKEND:-sqlite}" != postgres ]; then
  runuser -u visura-bench -- "$V" import --db "$db" --quiet "$snap"
else
  "$V" import --db "$db" --quiet "$snap"
fi
t1=$(date +%s.%N)
kill -INT "$wrkpid" 2>/dev/null || echo "wrk ended before the import (its 3600 s)"; wait "$wrkpid" || true; wrkpid=
out "$work/busy.txt"
if [ -n "${loginspid:-}" ]; then
  kill -INT "$loginspid"; wait "$loginspid" || true; loginspid=; cat "$work/logins.txt"
fi
echo "import of $imported persons: $(echo "$t1 - $t0" | bc -l | cut -c1-5) s"
if [ -n "${pgdir:-}" ]; then
  echo "WAL written during the import: $(pgq "SELECT pg_size_pretty(pg_current_wal_lsn() - '$lsn0')"), checkpoints: $(( $(pgq "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter") - ckpt0 ))"
fi
for i in $(seq 1 "${AFTER:-2}"); do
  echo "-- look-ups by codice fiscale after the import, window $i (wrk -t2 -c64 -d$dur)"
  phase "after$i"; lookups "$work/after$i.txt" -d"$dur"; out "$work/after$i.txt"
done
[ -n "${samplerpid:-}" ] && { kill "$samplerpid"; wait "$samplerpid" 2>/dev/null || true; samplerpid=; }
if [ -f "$work/pgact.txt" ]; then
  echo "-- pg_stat_activity each second, by phase: samples by database, state, wait event, statement (top 8 of the client backends')"
  awk -F'|' '$1 == "phase" { ph = $2; next } $1 != "load" && $5 == "client backend" && $6 != "idle" {
      n[ph " " $2 " " $6 " " $7 " " substr($10, 1, 24)]++ }
    END { for (k in n) print n[k], k }' "$work/pgact.txt" | sort -k2,2 -k1,1rn |
    awk '{ c[$2]++ } c[$2] <= 8' | sed 's/^/    /'
fi
echo "-- the server's own time per look-up (its log), 10 s at a time"
python3 -B bench/import-serving/timeline.py "$work/server.log"
"$V" audit verify --db "$db" | tail -n 1
if grep -q "Non-2xx\|Socket errors" "$work/busy.txt"; then echo "FAILED: answers lost during the import"; exit 1; fi
