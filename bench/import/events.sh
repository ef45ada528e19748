#!/usr/bin/env bash
# bench/import/events.sh — what a file's events cost (issue 20).  The
# generator's FULL snapshot has no EVT record (they are optional there), so
# this adds one event to it for each person (CAMBIO_INDIRIZZO, dated the
# person's version, E<n> ids): a first snapshot of PERSONS persons and as
# many events.  Then, for each back end and each build given, side by side
# on the same files, a new database each time:
#   full      the snapshot without events (the reference of the run)
#   full+evt  the snapshot with its events (a bulk load: COPY on PostgreSQL)
#   again     the same snapshot as sequence 2 (every record and event
#             unchanged: not a bulk load, each event compared)
#   deltas    DAYS daily deltas (the generator's own events)
# Prints wall time, CPU time of the importer, the importer's socket writes
# on PostgreSQL (strace: one or more per round trip, a rough count of them
# when STRACE=1) and the load average before each step.
#   [BACKENDS="sqlite postgres"] [STRACE=1] bench/import/events.sh [PERSONS] [DAYS] [BUILD_DIR...]
# PERSONS defaults to 100000, DAYS to 30, the builds to build/.
set -euo pipefail
cd "$(dirname "$0")/../.."
persons=${1:-100000}
days=${2:-30}
shift 2 || shift $# || true
builds=("$@")
. bench/import/lib.sh
bench_start events
"${builds[0]}/visura" gen --persons "$persons" --comune 036023 --seed 1 --days "$days" \
  --out "$work/feed" 2> /dev/null
full=$work/feed/036023-000001-FULL.tsv
# The snapshot with one event per person, and the same as sequence 2.
awk -F'\t' -v OFS='\t' '
  $1 == "PER" { n++; print; evt[n] = "EVT\tE" n "\tCAMBIO_INDIRIZZO\t" $3 "\t" $2 "\t\t"; next }
  $1 == "END" { for (i = 1; i <= n; i++) print evt[i]; print "END", $2 + n; next }
  { print }' "$full" > "$work/036023-000001-FULL.tsv"
awk -F'\t' -v OFS='\t' 'NR == 1 { $6 = 2; $5 = "2026-01-02T23:00:00Z" } { print }' \
  "$work/036023-000001-FULL.tsv" > "$work/036023-000002-FULL.tsv"
echo "events added to the snapshot: $(grep -c '^EVT' "$work/036023-000001-FULL.tsv")"

step() { # label, backend, build, db, files...
  local label=$1 backend=$2 b=$3 db=$4; shift 4
  local V load writes=""
  V=$(cd "$b" && pwd)/visura
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  if [ "${STRACE:-0}" = 1 ] && [ "$backend" = postgres ]; then
    /usr/bin/time -f "%e %U %S" -o "$work/time" strace -f -qq -c -o "$work/strace" \
      -e trace=sendto "$V" import --db "$db" --quiet "$@" > "$work/out" 2>&1 ||
      { cat "$work/out"; exit 1; }
    writes=$(awk '$NF == "sendto" { print $4 }' "$work/strace")
    writes="  sendto ${writes:-0}"
  else
    /usr/bin/time -f "%e %U %S" -o "$work/time" \
      "$V" import --db "$db" --quiet "$@" > "$work/out" 2>&1 || { cat "$work/out"; exit 1; }
  fi
  read -r secs usr sys < "$work/time"
  printf '%-9s %-28s %-9s %8.2f s  cpu %6.2f s%s  load before %s\n' "$backend" "$b" "$label" \
    "$secs" "$(echo "$usr + $sys" | bc -l)" "$writes" "$load"
}

for backend in ${BACKENDS:-sqlite postgres}; do
  for b in "${builds[@]}"; do
    bench_db "$backend" "$b"
    step full "$backend" "$b" "$db" "$full"
    bench_db "$backend" "$b"
    step full+evt "$backend" "$b" "$db" "$work/036023-000001-FULL.tsv"
    step again "$backend" "$b" "$db" "$work/036023-000002-FULL.tsv"
    # the deltas follow the plain snapshot
    bench_db "$backend" "$b"
    "$b/visura" import --db "$db" --quiet "$full" > /dev/null
    step deltas "$backend" "$b" "$db" "$work"/feed/036023-0000*-DELTA.tsv
    [ "$backend" = postgres ] || rm -f "$work"/run*.db "$work"/run*.db.trail
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
