#!/usr/bin/env bash
# bench/import/second.sh — a new municipality's FULL snapshot into a
# register that already holds another one: the importer then looks every
# person's codice fiscale up in the other municipalities (issue 20).
# Generates PERSONS for each of Modena (036023) and Bologna (037006) in
# one generator run (so no codice fiscale is in both: the import loads),
# then, for each back end and each build given, side by side on the same
# files: a fresh database, Modena's snapshot, and Bologna's measured (wall
# time, CPU time of the importer, persons/s, load average before it).
#   [BACKENDS="sqlite postgres"] bench/import/second.sh [PERSONS] [BUILD_DIR...]
# PERSONS defaults to 200000, the builds to build/.  PostgreSQL: one
# throwaway server (scripts/pg.sh), a new database for each run.
set -euo pipefail
cd "$(dirname "$0")/../.."
persons=${1:-200000}
shift || true
builds=("$@")
. bench/import/lib.sh
bench_start second
"${builds[0]}/visura" gen --persons $((2 * persons)) --comune 036023,037006 --seed 1 \
  --out "$work/feed" 2> /dev/null
for backend in ${BACKENDS:-sqlite postgres}; do
  for b in "${builds[@]}"; do
    bench_db "$backend" "$b"
    V=$(cd "$b" && pwd)/visura
    "$V" import --db "$db" --quiet "$work/feed/036023-000001-FULL.tsv" > /dev/null
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    /usr/bin/time -f "%e %U %S" -o "$work/time" \
      "$V" import --db "$db" --quiet "$work/feed/037006-000001-FULL.tsv" > "$work/out" 2>&1 ||
      { cat "$work/out"; exit 1; }
    read -r secs usr sys < "$work/time"
    n=$( (grep -oE '[0-9]* (persons|persone),' "$work/out" || true) | awk '{n += $1} END {print n + 0}')
    printf '%-9s %-22s Bologna %7d persons  %8.2f s  cpu %7.2f s  %8.0f persons/s  load before %s\n' \
      "$backend" "$b" "$n" "$secs" "$(echo "$usr + $sys" | bc -l)" "$(echo "$n / $secs" | bc -l)" "$load"
    [ "$backend" = postgres ] || rm -f "$db" "$db.trail"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
