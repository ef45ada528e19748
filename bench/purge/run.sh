#!/usr/bin/env bash
# bench/purge — look-ups while the access trail's retention purge runs.
# Sets up a register of PERSONS (default 200,000) with an operator as
# bench/lookup does, fills the trail with look-ups for FILL (default 60s:
# several hundred thousand access records on 2 cores), then wrk -t2 -c64:
# nginx serving a small static file over HTTPS (the machine's reference,
# same run), look-ups by codice fiscale without a purge (DURATION), look-ups
# for exactly as long as `visura audit purge --months 24` runs, and one
# window after it.  The purge runs under faketime 800 days ahead, so that
# every record under a signed head is past the retention: the worst case,
# all of a trail purged while the answers go on.
# Reports req/s, p50/p99, non-2xx answers and socket errors of each run,
# the purge's time and records, the server's own time per look-up 10 s at a
# time (bench/import-serving/timeline.py); fails when any answer during
# the purge was not a 200, or when the trail does not verify after it.
# SQLite (the trail's own file); CACHE=DIR keeps the register between runs
# as bench/lookup does.  OUT=DIR: the server's log and wrk's outputs.
# NICE=N: the purge at nice N (docs/audit.md advises 10); its CPU time
# (user + system) is printed either way.
#   [VPORT=P (18630)] [NPORT=P (18631)] [CACHE=DIR] [OUT=DIR] [NICE=N] bench/purge/run.sh [PERSONS] [BUILD_DIR] [DURATION] [FILL]
set -euo pipefail
cd "$(dirname "$0")/../.."
persons=${1:-200000}
build=${2:-build}
dur=${3:-10s}
fill=${4:-60s}
for p in wrk nginx faketime /usr/bin/time; do
  command -v $p >/dev/null || { apt-get update -qq; apt-get install -y -qq wrk nginx-light faketime time >/dev/null; }
done
[ -x "$build/visura" ] || scripts/build.sh "$build"
case $build in /*) V=$build/visura ;; *) V=$PWD/$build/visura ;; esac
work=$(mktemp -d /tmp/visura-bench-purge.XXXXXX)
cleanup() {
  [ -n "${wrkpid:-}" ] && kill "$wrkpid" 2>/dev/null || true
  [ -f "$work/nginx/nginx.pid" ] && kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null || true
  if [ -n "${OUT:-}" ]; then mkdir -p "$OUT"; cp "$work"/*.txt "$work"/*.log "$OUT/" 2>/dev/null || true; fi
  [ -f "$work/server.pid" ] && kill "$(cat "$work/server.pid")" 2>/dev/null || true
  sleep 0.5
  rm -rf "$work"
}
trap cleanup EXIT
vport=${VPORT:-18630}; nport=${NPORT:-18631}
db=$work/v.db
echo "== setting up $persons persons"
python3 bench/lookup/setup.py "$V" "$work" "$persons" "$vport" "$db"
[ "$(id -u)" -eq 0 ] && chown -R visura-bench "$work" 2>/dev/null || true
# as the server's account, as the operator would run it (sudo -u visura)
as_server() { if [ "$(id -u)" -eq 0 ]; then runuser -u visura-bench -- "$@"; else "$@"; fi; }

. bench/serving.sh   # out, drained, lookups
# records|first id|last id of the trail (read-only)
trail() { python3 -c "import sqlite3, sys; print(*sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True).execute('SELECT count(*), min(id), max(id) FROM access_log').fetchone(), sep='|')" "$db.trail"; }

echo "-- filling the trail: look-ups by codice fiscale for $fill"
lookups "$work/fill.txt" -d"$fill"; out "$work/fill.txt"

bench/nginx-reference.sh "$work/nginx" "$work/tls" "$nport"
echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "-- nginx static file over HTTPS (wrk -t2 -c64 -d$dur)"
wrk -t2 -c64 -d"$dur" --latency "https://127.0.0.1:$nport/" > "$work/nginx.txt"; out "$work/nginx.txt"
kill "$(cat "$work/nginx/nginx.pid")"

echo "-- look-ups by codice fiscale, no purge (wrk -t2 -c64 -d$dur)"
lookups "$work/quiet.txt" -d"$dur"; out "$work/quiet.txt"

sleep 2   # the writer's last head
echo "trail before the purge (records|first id|last id): $(trail)"
echo "-- look-ups by codice fiscale while the trail is purged"
drained
set -m
COOKIE=$(cat "$work/cookie.txt") LIST=$work/cfs.txt KIND=cf \
  wrk -t2 -c64 --latency -s bench/lookup/lookup.lua -d3600s "https://127.0.0.1:$vport" > "$work/busy.txt" &
wrkpid=$!
set +m
sleep 1
t0=$(date +%s.%N)
as_server /usr/bin/time -f 'purge CPU: %U s user, %S s system, max RSS %M KB' \
  nice -n "${NICE:-0}" faketime -f '+800d' "$V" audit purge --db "$db" --months 24 > "$work/purge.txt" 2>&1 || {
  cat "$work/purge.txt"; echo "FAILED: the purge"; exit 1; }
t1=$(date +%s.%N)
kill -INT "$wrkpid" 2>/dev/null || echo "wrk ended before the purge (its 3600 s)"; wait "$wrkpid" || true; wrkpid=
out "$work/busy.txt"
sed 's/^/    /' "$work/purge.txt"
echo "purge: $(echo "$t1 - $t0" | bc -l | cut -c1-6) s"
echo "trail after the purge (records|first id|last id): $(trail)"
echo "-- look-ups by codice fiscale after the purge (wrk -t2 -c64 -d$dur)"
lookups "$work/after.txt" -d"$dur"; out "$work/after.txt"
echo "-- the server's own time per look-up (its log), 10 s at a time"
python3 -B bench/import-serving/timeline.py "$work/server.log"
as_server "$V" audit verify --db "$db" | tail -n 1
if grep -q "Non-2xx\|Socket errors" "$work/busy.txt"; then echo "FAILED: answers lost during the purge"; exit 1; fi
