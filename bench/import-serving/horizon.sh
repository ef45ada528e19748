#!/usr/bin/env bash
# bench/import-serving/horizon.sh — look-ups while a PostgreSQL transaction
# stays open, without any import (issue #20).  A psql session takes an xid
# (`SELECT txid_current()`) and sleeps: it locks nothing visura uses, but
# holds the xmin horizon as a FULL import's transaction does.  Prints the
# dead row versions of shared_state and wrk -t2 -c64 look-ups by codice
# fiscale in 10 s windows, with the rows each window wrote to shared_state: before, WINDOWS windows while the transaction is
# open, and after it ends and shared_state is vacuumed.  Runs against the
# set-up that `KEEP=1 BACKEND=postgres bench/import-serving/run.sh` leaves.
# The transaction is held on CONNINFO's database; with SHARED_CONNINFO (a
# SHARED=1 run's companion database) the shared state is read and vacuumed
# there.
#   [VPORT=P (18610: the KEEP=1 run's)] [SHARED_CONNINFO=C] bench/import-serving/horizon.sh WORK_DIR CONNINFO [WINDOWS]
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:?work dir of a KEEP=1 run}
conninfo=${2:?conninfo of its PostgreSQL database}
windows=${3:-5}
shared=${SHARED_CONNINFO:-$conninfo}
[ -f "$work/cookie.txt" ] || { echo "no $work/cookie.txt: not a KEEP=1 work dir" >&2; exit 2; }
# Row versions written to shared_state (updates and inserts) so far, as
# the server's connections last reported them (about once a second).
written() {
  psql "$shared" -Atc "SELECT n_tup_upd + n_tup_ins FROM pg_stat_user_tables
    WHERE relname = 'shared_state'"
}
window() {
  local w0 out n w1
  w0=$(written)
  out=$(COOKIE=$(cat "$work/cookie.txt") LIST=$work/cfs.txt KIND=cf \
    wrk -t2 -c64 --latency -s bench/lookup/lookup.lua -d10s "https://127.0.0.1:${VPORT:-18610}")
  echo "$out" | grep -E "Requests/sec|  50%|  99%|Socket errors" | tr -s ' \n' ' '
  sleep 1
  w1=$(written)
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "| shared_state rows written: $((w1 - w0)), $(awk -v w=$((w1 - w0)) -v n="$n" \
    'BEGIN {printf "%.3f", n ? w / n : 0}') per look-up"
}
dead() {
  psql "$shared" -Atc "SELECT 'dead versions in shared_state: ' || n_dead_tup
    FROM pg_stat_user_tables WHERE relname = 'shared_state'"
}
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "-- no transaction open"; dead; window
psql "$conninfo" -Atc "BEGIN; SELECT txid_current(); SELECT pg_sleep($((windows * 10 + 5))); COMMIT" >/dev/null &
holder=$!
sleep 1
for i in $(seq 1 "$windows"); do echo "-- transaction open, window $i"; dead; window; done
wait "$holder"
psql "$shared" -Atc "VACUUM shared_state"
echo "-- transaction ended, shared_state vacuumed"; dead; window
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
