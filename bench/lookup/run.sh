#!/usr/bin/env bash
# bench/lookup — authenticated lookups on a register of PERSONS (default
# 1,000,000) over HTTPS keep-alive, the full corridor (session, agreement,
# purpose, query, profile filter, durable access record), beside nginx
# serving a small static file over HTTPS on the same machine, same run.
#   [VPORT=P NPORT=P] [BACKEND=postgres [INSTANCES=2] [SHARED=1] [PGSTAT=1] [PGSET=...]] [THREADS=N] [SERVER_ENV="NAME=VALUE ..."] [ACCOUNTS=N] [AUTH=voucher [VOUCHERS=N]] [NAMES=date] [REFUSALS=count] [CACHE=DIR] [NICE=1] [ROUNDS=N] bench/lookup/run.sh [PERSONS] [BUILD_DIR] [DURATION]
# NAMES=date: the name searches by surname + name + full birth date
# instead of birth year (the default).  At 10,000,000 persons in one
# municipality some surname + name + year triples match more than the
# agreement's max_results (20): their answers are 422 query_too_broad,
# correct refusals that the year search would count as failures.
# REFUSALS=count: the name searches' 422 query_too_broad are counted apart
# and reported as correct refusals ("too broad: N", within wrk's requests
# and rate); any other non-2xx answer still fails the run.
# CACHE=DIR (SQLite): the register, once generated and imported, kept in
# DIR (its database and keys, the first admin's password, the sampled
# rows); a later run with the same DIR and PERSONS copies it instead of
# generating and importing again (bench/lookup/setup.py).  Delete DIR
# when done.  NICE=1: the generation and the import at nice 10 (not the
# server, not the runs).  ROUNDS=N (1 to 99, default 1): the runs (nginx,
# look-ups, name searches) N times over on the one register, each round
# with the load average before it: repeated measurements on a register
# set up once, PostgreSQL's included (CACHE is SQLite only).
# SHARED=1 (PostgreSQL): the shared state (rate limits, anti-extraction
# counters) in a companion database of the same server (--shared-db), as
# docs/deployment.md advises; without it, in the register's database.
# BACKEND=postgres: the register on a throwaway PostgreSQL server
# (scripts/pg.sh) on this machine instead of a SQLite file (its CPU per
# look-up is printed beside the server's; PGSTAT=1: with pg_stat_statements,
# the statements of the look-ups by codice fiscale that took most of its
# time, their calls per answer and time, after a VACUUM ANALYZE of the
# register just loaded; PGSET="NAME=VALUE ...": settings of the server, by
# ALTER SYSTEM and a reload before the register is loaded, e.g.
# PGSET=plan_cache_mode=force_custom_plan; PERF=1: perf record on its
# processes during the look-ups by codice fiscale (on SQLite: on the
# server's threads, the group-commit writer apart); WARMUP=S: S seconds of
# look-ups and an ANALYZE before them, below).  ACCOUNTS: operators of the body
# with a session (default 1), the requests of the runs with a session
# taken by each in turn, so that one account's serialisation (its
# anti-extraction counters are one locked row) can be told from the rest.
# THREADS: the
# server's worker threads (default 2).  SERVER_ENV: variables set in the
# server's environment only (not nginx's or wrk's), e.g.
# GLIBC_TUNABLES=glibc.malloc.tcache_count=64.  AUTH=voucher: also, right after the
# session's look-ups by codice fiscale, the same look-ups as a body calling
# through PDND (docs/pdnd.md): every request with its own voucher and
# Agid-JWT-TrackingEvidence, signed before the run with keys made here
# (bench/lookup/vouchers.py; VOUCHERS pairs, default 6,000 a second of
# DURATION); the run fails if they run out, as for any non-2xx answer.
# wrk waits up to 10 s for a voucher look-up (its default, 2 s, would
# drop the slowest answers from the latencies).
# INSTANCES=N (PostgreSQL): N visura servers on the one database, each its
# own process and port (VPORT, VPORT+2, ...); each run at 64 connections is
# then N wrk processes started together, one per instance with 64/N
# connections and 2/N threads, their rates summed (the latencies printed
# are each instance's), and the server CPU per answer sums the instances.
set -euo pipefail
cd "$(dirname "$0")/../.."
persons=${1:-1000000}
build=${2:-build}
dur=${3:-10s}
case $dur in *[0-9]s) secs=${dur%s} ;; *[0-9]m) secs=$(( ${dur%m} * 60 )) ;; *[0-9]) secs=$dur ;;
  *) echo "DURATION: seconds (10s) or minutes (2m)"; exit 2 ;; esac
auth=${AUTH:-session}
case ${REFUSALS:-} in ""|count) ;; *) echo "REFUSALS: count or unset"; exit 2 ;; esac
names=${NAMES:-year}
case $names in year|date) ;; *) echo "NAMES: year or date"; exit 2 ;; esac
export NAMES=$names
case $auth in session|voucher) ;; *) echo "AUTH: session or voucher"; exit 2 ;; esac
for p in wrk nginx; do command -v $p >/dev/null || { apt-get update -qq; apt-get install -y -qq wrk nginx-light >/dev/null; }; done
[ -x "$build/visura" ] || scripts/build.sh "$build"
case $build in /*) V=$build/visura ;; *) V=$PWD/$build/visura ;; esac
work=$(mktemp -d /tmp/visura-bench-lookup.XXXXXX)
cleanup() {
  for f in "$work"/server*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  [ -f "$work/nginx/nginx.pid" ] && kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null || true
  sleep 0.5
  [ -n "${pgdir:-}" ] && scripts/pg.sh stop "$pgdir"
  rm -rf "$work"
}
trap cleanup EXIT
if [ -n "${KEEP:-}" ]; then trap - EXIT; echo "work dir: $work"; fi
vport=${VPORT:-18600}; nport=${NPORT:-18601}
instances=${INSTANCES:-1}
case $instances in 1|2|4) ;; *) echo "INSTANCES: 1, 2 or 4 (64 connections split evenly)"; exit 2 ;; esac
ports=$vport; more_ports=""
for ((i = 1; i < instances; i++)); do more_ports="$more_ports $((vport + 2 * i))"; done
ports="$ports$more_ports"
db=$work/v.db
if [ "${BACKEND:-sqlite}" = postgres ]; then
  pgdir=$(mktemp -d /tmp/visura-bench-pg.XXXXXX); rmdir "$pgdir"
  db="postgres:$(scripts/pg.sh start "$pgdir")"
  if [ -n "${PGSTAT:-}" ]; then
    psql "${db#postgres:}" -qc "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
    scripts/pg.sh halt "$pgdir"; scripts/pg.sh resume "$pgdir"
    psql "${db#postgres:}" -qc "CREATE EXTENSION pg_stat_statements"
  fi
  if [ -n "${PGSET:-}" ]; then
    for kv in $PGSET; do psql "${db#postgres:}" -qc "ALTER SYSTEM SET ${kv%%=*} = '${kv#*=}'"; done
    psql "${db#postgres:}" -qAtc "SELECT pg_reload_conf()" >/dev/null
  fi
  if [ -n "${SHARED:-}" ]; then
    # the shared state in a companion database of the same server, as
    # docs/deployment.md advises (visura serve --shared-db)
    SHARED_DB="postgres:$(scripts/pg.sh createdb "$pgdir" visura_shared)"
    export SHARED_DB
    echo "companion database: $SHARED_DB"
  fi
  export VISURA_STATE_DIR=$work
fi
[ "$instances" = 1 ] || [ "${BACKEND:-sqlite}" = postgres ] || { echo "INSTANCES: PostgreSQL only"; exit 2; }
[ "$instances" = 1 ] || [ "$auth" = session ] || { echo "INSTANCES: with AUTH=session only"; exit 2; }
echo "back end: ${BACKEND:-sqlite}, $instances instance(s) on port(s) $ports"

echo "== setting up $persons persons (takes a while)"
MORE_PORTS=$more_ports AUTH=$auth python3 -B bench/lookup/setup.py "$V" "$work" "$persons" "$vport" "$db"
if [ "$auth" = voucher ]; then
  nv=${VOUCHERS:-$(( secs * 6000 ))}
  echo "== signing $nv voucher + tracking evidence pairs"
  python3 -B bench/lookup/vouchers.py "$work" "$nv" "$work/tokens.txt"
fi

echo "== nginx reference"
bench/nginx-reference.sh "$work/nginx" "$work/tls" "$nport"

out() { grep -E "Requests/sec|  50%|  99%|Non-2xx|Socket errors" "$1" | sed 's/^/    /'
        echo "    load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"; }
echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
# The server's CPU (user+system, all threads, in clock ticks) from /proc: CPU
# per answer holds up on a busy machine where requests/second does not.
# With INSTANCES, the sum of theirs.
ticks() { local f; for f in "$work"/server*.pid; do cat "/proc/$(cat "$f")/stat"; done |
          awk '{ sub(/^[0-9]+ \(.*\) /, ""); t += $12 + $13 } END { print t }'; }
# PostgreSQL's CPU: the postmaster's, its live children's and its reaped
# ones' (the only server of $pgdir: other servers on the machine not counted).
pg_ticks() {
  [ -n "${pgdir:-}" ] || { echo 0; return; }
  local pm; pm=$(head -n 1 "$pgdir/data/postmaster.pid")
  # processes come and go while /proc is read: what vanished is skipped
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v pm="$pm" '{ pid = $1; sub(/^[0-9]+ \(.*\) /, "")
       if (pid == pm) t += $12 + $13 + $14 + $15; else if ($2 == pm) t += $12 + $13 }
       END { print t + 0 }' || true
}
# PGSTAT: PostgreSQL's CPU (ticks) by kind of process, one "KIND TICKS" a
# line: its live children by their title (the backends serving visura as
# "backend"), and "exited" for the children reaped (autovacuum's workers).
pg_kinds() {
  local pm p; pm=$(head -n 1 "$pgdir/data/postmaster.pid")
  { awk '{ sub(/^[0-9]+ \(.*\) /, ""); print "exited", $14 + $15 }' "/proc/$pm/stat"
    for p in $(ps -o pid= --ppid "$pm"); do
      k=$( (tr '\0' ' ' < "/proc/$p/cmdline") 2>/dev/null | sed 's/^postgres: //') || continue
      [ -n "$k" ] || continue
      case $k in *"$(cat "$pgdir/user")"*) k=backend ;; *) k=$(echo "$k" | awk '{print $1 ($2 == "launcher" || $2 == "worker" ? "_" $2 : "")}') ;; esac
      awk -v k="$k" '{ sub(/^[0-9]+ \(.*\) /, ""); print k, $12 + $13 }' "/proc/$p/stat" 2>/dev/null || true
    done; } | awk '{ t[$1] += $2 } END { for (k in t) print k, t[k] }'
}
pg_kinds_diff() {  # pg_kinds_diff BEFORE_FILE ANSWERS
  pg_kinds > "$work/kinds1"
  awk -v n="$2" -v hz="$(getconf CLK_TCK)" 'NR == FNR { b[$1] = $2; next }
    { d = $2 - b[$1]; if (d > 0) printf "%s %d µs; ", $1, d * 1000000 / hz / n }' "$1" "$work/kinds1"
  echo
}
# The same, of the threads other than libmicrohttpd's workers and the main
# thread: the group-commit writer ("audit-writer") and the background
# threads, idle during a run (a build before the writer was named counts
# the same threads).
writer_ticks() { local f p t; for f in "$work"/server*.pid; do p=$(cat "$f")
    for t in /proc/"$p"/task/*; do [ "${t##*/}" = "$p" ] || cat "$t/stat" 2>/dev/null; done; done |
  awk '!/\(MHD-/ { sub(/^[0-9]+ \(.*\) /, ""); t += $12 + $13 } END { print t + 0 }'; }
cpu_per() {  # cpu_per TICKS_BEFORE WRK_OUTPUT [PG_TICKS_BEFORE] [WRITER_TICKS_BEFORE]
  local t1 p1 w1 reqs; t1=$(ticks); p1=$(pg_ticks); w1=$(writer_ticks); reqs=$(awk '/requests in/ {n = $1} END {print n}' "$2")
  echo "    server CPU per answer: $(echo "($t1 - $1) * 1000000 / $(getconf CLK_TCK) / $reqs" | bc) µs ($reqs answers)"
  [ -z "${4:-}" ] || echo "      of which the group-commit writer: $(echo "($w1 - $4) * 1000000 / $(getconf CLK_TCK) / $reqs" | bc) µs"
  [ -z "${3:-}" ] || [ -z "${pgdir:-}" ] || echo "    PostgreSQL CPU per answer: $(echo "($p1 - $3) * 1000000 / $(getconf CLK_TCK) / $reqs" | bc) µs"
}
# Every answer must be a 200 with data: a benchmark of refusals measures nothing.
require_ok() { if grep -q "Non-2xx" "$1"; then echo "FAILED: non-2xx answers in $1"; exit 1; fi; }
# REFUSALS=count, the name searches: non-2xx allowed only as many as the
# 422 query_too_broad that lookup.lua counted.
require_ok_names() {
  if [ "${REFUSALS:-}" != count ]; then require_ok "$1"; return; fi
  local bad broad
  bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$1"); bad=${bad:-0}
  broad=$(awk '/^too broad:/ { n += $3 } END { print n + 0 }' "$1")
  echo "    422 query_too_broad (correct refusals, counted in the requests above): $broad"
  [ "$bad" = "$broad" ] || { echo "FAILED: $bad non-2xx answers in $1, of which $broad too broad"; exit 1; }
}
# Before each run on visura: wait until the server has closed every
# connection of the run before (ss: its sockets on the port(s), listening
# ones aside).  wrk closes its connections when its time is up, but the
# server keeps each one open until the request it holds is answered (on
# PostgreSQL, up to a p99 of latency later); a wrk started at once opens
# 64 more beside them, and past per_ip_connections (64) the server drops
# the new ones at accept (wrk's "connect" errors, and its retries).
settle() {
  local p f n waited=0
  f=$(for p in $ports; do printf ' or sport = :%s' "$p"; done); f="( ${f# or } )"
  while n=$(ss -Htn state established state close-wait state syn-recv "$f" | wc -l); [ "$n" -gt 0 ]; do
    [ $waited -lt 600 ] || { echo "FAILED: the server still holds $n connections after 60 s"; exit 1; }
    sleep 0.1; waited=$((waited + 1))
  done
  [ $waited = 0 ] || echo "    (waited $((waited / 10)).$((waited % 10)) s for the connections of the run before to close)"
}
# wrk64 OUT [WRK OPTIONS]: 64 connections on visura, OUT its output.  With
# INSTANCES, one wrk per instance, started together (64/N connections and
# one thread each); OUT then holds each one's lines, prefixed by its port,
# then the requests and the rate summed.
wrk64() {
  local f=$1; shift
  if [ "$instances" = 1 ]; then
    wrk -t2 -c64 -d"$dur" --latency "$@" "https://127.0.0.1:$vport" > "$f"; return
  fi
  local p pids=()
  for p in $ports; do
    wrk -t1 -c$((64 / instances)) -d"$dur" --latency "$@" "https://127.0.0.1:$p" > "$f.$p" &
    pids+=($!)
  done
  wait "${pids[@]}"
  for p in $ports; do sed "s/^/[:$p] /" "$f.$p"; done > "$f"
  for p in $ports; do cat "$f.$p"; done | awk '/requests in/ { n += $1 } /^Requests\/sec/ { r += $2 }
    END { printf "  %d requests in all instances\nRequests/sec: %.2f (sum)\n", n, r }' >> "$f"
}
# PGSTAT: where PostgreSQL's work per look-up goes, beside the statements'
# times: each statement's rows, blocks dirtied and WAL bytes per answer;
# the server's WAL (records, full-page images, bytes, writes and flushes),
# commits, the rows each table took (inserted, updated, HOT) and the index
# entries they wrote (a row inserted or a non-HOT update writes one entry
# in each of its table's indexes), autovacuum's and the checkpointer's
# share.  The counters reset before the run; the server's backends report
# theirs when idle, up to 10 s after the run (hence the wait).
pg_breakdown() {
  local n=$1 c=${db#postgres:}
  sleep 11
  echo "    per statement (calls, rows, blocks dirtied, WAL records, WAL bytes per answer; µs per call;"
  echo "    plannings per call and µs per planning, with PGSET=pg_stat_statements.track_planning=on):"
  psql "$c" -qAt -F' | ' -c "SELECT round(calls::numeric / $n, 3), round(rows::numeric / $n, 2),
    round(shared_blks_dirtied::numeric / $n, 3), round(wal_records::numeric / $n, 2),
    round(wal_bytes / $n), round((total_exec_time / calls * 1000)::numeric),
    round(plans::numeric / calls, 2), round((total_plan_time / greatest(plans, 1) * 1000)::numeric),
    left(regexp_replace(query, '\s+', ' ', 'g'), 70) FROM pg_stat_statements
    WHERE calls::numeric / $n >= 0.005 ORDER BY total_exec_time DESC LIMIT 14" | sed 's/^/      /'
  psql "$c" -qAt -F' ' -c "SELECT 'WAL per answer: ' || round(wal_records::numeric / $n, 2) || ' records, '
    || round(wal_fpi::numeric / $n, 3) || ' full-page images, ' || round(wal_bytes / $n) || ' bytes, '
    || round(wal_write::numeric / $n, 3) || ' writes, ' || round(wal_sync::numeric / $n, 3)
    || ' flushes (' || wal_sync || ' in all); buffers full ' || wal_buffers_full FROM pg_stat_wal" | sed 's/^/    /'
  psql "$c" -qAt -F' ' -c "SELECT 'transactions per answer: ' || round(xact_commit::numeric / $n, 3)
    || ' committed, ' || round(xact_rollback::numeric / $n, 3) || ' rolled back' FROM pg_stat_database
    WHERE datname = current_database()" | sed 's/^/    /'
  psql "$c" -qAt -F' ' -c "SELECT 'checkpoints ' || (checkpoints_timed + checkpoints_req)
    || ', buffers written per answer: checkpointer ' || round(buffers_checkpoint::numeric / $n, 3)
    || ', bgwriter ' || round(buffers_clean::numeric / $n, 3) || ', backends '
    || round(buffers_backend::numeric / $n, 3) FROM pg_stat_bgwriter" | sed 's/^/    /'
  echo "    tables written (rows inserted, updated (HOT), deleted per answer; index entries written per answer = (inserted + non-HOT updated) x indexes; autovacuum/autoanalyze runs):"
  psql "$c" -qAt -F' | ' -c "SELECT relname, round(n_tup_ins::numeric / $n, 3),
    round(n_tup_upd::numeric / $n, 3) || ' (' || round(n_tup_hot_upd::numeric / $n, 3) || ')',
    round(n_tup_del::numeric / $n, 3),
    (SELECT count(*) FROM pg_index i WHERE i.indrelid = t.relid) || ' indexes',
    round((n_tup_ins + n_tup_upd - n_tup_hot_upd)::numeric
      * (SELECT count(*) FROM pg_index i WHERE i.indrelid = t.relid) / $n, 2),
    autovacuum_count || '/' || autoanalyze_count
    FROM pg_stat_user_tables t WHERE n_tup_ins + n_tup_upd + n_tup_del > 0
    ORDER BY n_tup_ins + n_tup_upd + n_tup_del DESC" | sed 's/^/      /'
  echo "    tables read by sequential scan (scans and rows read per answer, live / dead rows at the end):"
  psql "$c" -qAt -F' | ' -c "SELECT relname, round(seq_scan::numeric / $n, 3), round(seq_tup_read::numeric / $n, 1),
    n_live_tup || ' / ' || n_dead_tup FROM pg_stat_user_tables WHERE seq_scan > 0
    ORDER BY seq_tup_read DESC LIMIT 8" | sed 's/^/      /'
  psql "$c" -qAt -c "SELECT round(sum((n_tup_ins + n_tup_upd - n_tup_hot_upd)
      * (SELECT count(*) FROM pg_index i WHERE i.indrelid = t.relid))::numeric / $n, 2)
    FROM pg_stat_user_tables t" | sed 's/^/    index entries written per answer, all tables: /'
}
# PERF=1: perf record -g during the look-ups by codice fiscale on
# PostgreSQL's processes (the postmaster's children) or, on SQLite, on the
# visura server (its threads by name: the group-commit writer is
# "audit-writer"); printed: the share of each thread (SQLite) and of each
# binary/library, and the 40 hottest symbols.  PERFKEEP=FILE keeps the
# recording; PERFCG=dwarf records the call stacks by DWARF instead of frame
# pointers (Debian's libc and libmicrohttpd have none: the callers of a
# libc function are then seen).
perf_start() {
  [ -n "${PERF:-}" ] || return 0
  local pids
  if [ -n "${pgdir:-}" ]; then
    local pm; pm=$(head -n 1 "$pgdir/data/postmaster.pid")
    pids="$pm,$(ps -o pid= --ppid "$pm" | tr -s ' \n' ',' | sed 's/^,//; s/,$//')"
    perf_who="PostgreSQL's processes"
  else
    pids=$(cat "$work"/server*.pid | paste -sd,)
    perf_who="the visura server"
  fi
  perf record -q --call-graph "${PERFCG:-fp}" -F 499 -p "$pids" -o "$work/perf.data" -- sleep "$secs" >/dev/null 2>&1 &
  perf_pid=$!
}
perf_report() {
  [ -n "${perf_pid:-}" ] || return 0
  wait "$perf_pid" || true; perf_pid=
  if [ -z "${pgdir:-}" ]; then
    echo "    perf, $perf_who: share by thread"
    perf report -i "$work/perf.data" --no-children --sort comm --stdio 2>/dev/null | grep -E '^ +[0-9]' | sed -n 1,8p | sed 's/^/      /'
  fi
  echo "    perf, $perf_who: share by binary"
  perf report -i "$work/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | sed -n 1,8p | sed 's/^/      /'
  echo "    perf, $perf_who: hottest symbols"
  perf report -i "$work/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | sed -n 1,40p | sed 's/^/      /'
  [ -z "${PERFKEEP:-}" ] || cp "$work/perf.data" "$PERFKEEP"
}
rounds=${ROUNDS:-1}
case $rounds in [1-9]|[1-9][0-9]) ;; *) echo "ROUNDS: 1 to 99"; exit 2 ;; esac
for ((round = 1; round <= rounds; round++)); do
  [ "$rounds" = 1 ] || echo "== round $round of $rounds, load average before it: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "-- nginx static file over HTTPS (wrk -t2 -c64 -d$dur)"
  wrk -t2 -c64 -d"$dur" --latency "https://127.0.0.1:$nport/" > "$work/nginx.txt"; out "$work/nginx.txt"
  echo "-- visura GET /api/v1/persons?cf=... (wrk -t2 -c64 -d$dur, ${ACCOUNTS:-1} account(s))"
  # PGSTAT: the register's vacuum and statistics after its load done first,
  # not spread over the answers' CPU (autovacuum's work otherwise).
  # WARMUP=S (PostgreSQL): S seconds of the same look-ups first, then the
  # trail's statistics taken (ANALYZE), so that the plans of the measured
  # run are those of a trail of some size: a plan made while a table is a
  # page or two (the foreign key's check of access_subject, the head of the
  # chain) scans it whole, and stays until the table is analysed again.
  if [ -n "${WARMUP:-}" ] && [ -n "${pgdir:-}" ]; then
    settle
    COOKIE=$(cat "$work/cookie.txt") COOKIES=$work/cookies.txt LIST=$work/cfs.txt KIND=cf \
      wrk -t2 -c64 -d"${WARMUP}s" -s bench/lookup/lookup.lua "https://127.0.0.1:$vport" > "$work/warmup.txt"
    psql "${db#postgres:}" -qc "ANALYZE" >/dev/null
    echo "    (warm-up: $(awk '/requests in/ {print $1}' "$work/warmup.txt") look-ups in ${WARMUP} s, then ANALYZE)"
  fi
  [ -z "${PGSTAT:-}" ] || psql "${db#postgres:}" -qc "VACUUM ANALYZE" -c "CHECKPOINT" \
    -c "SELECT pg_stat_statements_reset()" -c "SELECT pg_stat_reset()" \
    -c "SELECT pg_stat_reset_shared('wal')" -c "SELECT pg_stat_reset_shared('bgwriter')" >/dev/null
  settle; t0=$(ticks); pg0=$(pg_ticks); w0=$(writer_ticks)
  [ -z "${PGSTAT:-}" ] || pg_kinds > "$work/kinds0"
  perf_start
  COOKIE=$(cat "$work/cookie.txt") COOKIES=$work/cookies.txt LIST=$work/cfs.txt KIND=cf \
    wrk64 "$work/cf.txt" -s bench/lookup/lookup.lua; out "$work/cf.txt"; require_ok "$work/cf.txt"; cpu_per "$t0" "$work/cf.txt" "$pg0" "$w0"
  perf_report
  if [ -n "${PGSTAT:-}" ]; then
    nreq=$(awk '/requests in/ {n = $1} END {print n}' "$work/cf.txt")
    echo "    PostgreSQL's CPU per answer by process: $(pg_kinds_diff "$work/kinds0" "$nreq")"
    pg_breakdown "$nreq"
    echo "    PostgreSQL statements by total time (calls per answer, µs per call, ms in all):"
    psql "${db#postgres:}" -qAt -F' | ' -c "SELECT round(calls::numeric / $nreq, 2),
      round((total_exec_time / calls * 1000)::numeric), round(total_exec_time::numeric),
      left(regexp_replace(query, '\s+', ' ', 'g'), 90) FROM pg_stat_statements WHERE calls > 0
      ORDER BY total_exec_time DESC LIMIT 10" | sed 's/^/      /'
    # Blocks dirtied and statement time per answer do not depend on the
    # machine's load as requests/second do (time includes lock waits).
    psql "${db#postgres:}" -qAt -F' ' -c "SELECT 'all statements: ' || round(sum(calls)::numeric / $nreq, 2)
      || ' calls, ' || round((sum(total_exec_time) * 1000 / $nreq)::numeric)
      || ' µs, ' || round(sum(shared_blks_hit + shared_blks_read)::numeric / $nreq, 1)
      || ' blocks read, ' || round(sum(shared_blks_dirtied)::numeric / $nreq, 2)
      || ' dirtied per answer' FROM pg_stat_statements" | sed 's/^/    /'
  fi
  if [ "$auth" = voucher ]; then
    echo "-- visura GET /api/v1/persons?cf=... with a PDND voucher + tracking evidence per request (wrk -t2 -c64 -d$dur)"
    settle; t0=$(ticks)
    LIST=$work/cfs.txt TOKENS=$work/tokens.txt \
      wrk -t2 -c64 -d"$dur" --timeout 10s --latency -s bench/lookup/voucher.lua "https://127.0.0.1:$vport" -- 2 \
      > "$work/voucher.txt"; out "$work/voucher.txt"; require_ok "$work/voucher.txt"; cpu_per "$t0" "$work/voucher.txt"
  fi
  echo "-- visura name search surname+name+birth_$names (wrk -t2 -c64 -d$dur)"
  settle; t0=$(ticks); pg0=$(pg_ticks); w0=$(writer_ticks)
  COOKIE=$(cat "$work/cookie.txt") COOKIES=$work/cookies.txt LIST=$work/names.txt KIND=name \
    wrk64 "$work/name.txt" -s bench/lookup/lookup.lua; out "$work/name.txt"; require_ok_names "$work/name.txt"; cpu_per "$t0" "$work/name.txt" "$pg0" "$w0"
  echo "-- visura name search, one connection (latency without queueing)"
  settle
  COOKIE=$(cat "$work/cookie.txt") LIST=$work/names.txt KIND=name \
    wrk -t1 -c1 -d"$dur" --latency -s bench/lookup/lookup.lua "https://127.0.0.1:$vport" > "$work/name1.txt"; out "$work/name1.txt"; require_ok_names "$work/name1.txt"
  n=$(grep Requests/sec "$work/nginx.txt" | awk '{print $2}')
  v=$(grep '^Requests/sec' "$work/cf.txt" | awk '{print $2}')
  echo "ratio visura cf lookup / nginx static: $(echo "$v / $n" | bc -l | cut -c1-5)"
  if [ "$auth" = voucher ]; then
    pv=$(grep Requests/sec "$work/voucher.txt" | awk '{print $2}')
    echo "ratio visura cf lookup with a voucher / nginx static: $(echo "$pv / $n" | bc -l | cut -c1-5)"
    echo "ratio voucher / session: $(echo "$pv / $v" | bc -l | cut -c1-5)"
  fi
done
"$V" audit verify --db "$db"
