#!/usr/bin/env bash
# bench/import-serving/horizon.sh — look-ups while a PostgreSQL transaction
# stays open, without any import (issue #20).  A psql session takes an xid
# (`SELECT txid_current()`) and sleeps: it locks nothing visura uses, but
# holds the xmin horizon as a FULL import's transaction does.  Prints the
# dead row versions of shared_state and wrk -t2 -c64 look-ups by codice
# fiscale in 10 s windows: before, WINDOWS windows while the transaction is
# open, and after it ends and shared_state is vacuumed.  Runs against the
# set-up that `KEEP=1 BACKEND=postgres bench/import-serving/run.sh` leaves.
#   bench/import-serving/horizon.sh WORK_DIR CONNINFO [WINDOWS]
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:?work dir of a KEEP=1 run}
conninfo=${2:?conninfo of its PostgreSQL database}
windows=${3:-5}
[ -f "$work/cookie.txt" ] || { echo "no $work/cookie.txt: not a KEEP=1 work dir" >&2; exit 2; }
window() {
  COOKIE=$(cat "$work/cookie.txt") LIST=$work/cfs.txt KIND=cf \
    wrk -t2 -c64 --latency -s bench/lookup/lookup.lua -d10s https://127.0.0.1:18610 |
    grep -E "Requests/sec|  99%|Socket errors" | tr -s ' \n' ' '
  echo
}
dead() {
  psql "$conninfo" -Atc "SELECT 'dead versions in shared_state: ' || n_dead_tup
    FROM pg_stat_user_tables WHERE relname = 'shared_state'"
}
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "-- no transaction open"; dead; window
psql "$conninfo" -Atc "BEGIN; SELECT txid_current(); SELECT pg_sleep($((windows * 10 + 5))); COMMIT" >/dev/null &
holder=$!
sleep 1
for i in $(seq 1 "$windows"); do echo "-- transaction open, window $i"; dead; window; done
wait "$holder"
psql "$conninfo" -Atc "VACUUM shared_state"
echo "-- transaction ended, shared_state vacuumed"; dead; window
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
