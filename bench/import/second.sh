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
[ ${#builds[@]} -gt 0 ] || builds=(build)
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
work=$(mktemp -d /tmp/visura-bench-second.XXXXXX)
pgdir=""
trap '[ -z "$pgdir" ] || scripts/pg.sh stop "$pgdir"; rm -rf "$work"' EXIT
export VISURA_STATE_DIR=$work

echo "machine: $(nproc) cores, $(grep MemTotal /proc/meminfo | awk '{printf "%.0f GiB", $2/1048576}'), $(uname -r)"
"${builds[0]}/visura" gen --persons $((2 * persons)) --comune 036023,037006 --seed 1 \
  --out "$work/feed" 2> /dev/null
run=0
for backend in ${BACKENDS:-sqlite postgres}; do
  if [ "$backend" = postgres ] && [ -z "$pgdir" ]; then
    pgdir=$(mktemp -d /tmp/visura-bench-pg.XXXXXX); rmdir "$pgdir"
    conn=$(scripts/pg.sh start "$pgdir")
  fi
  for b in "${builds[@]}"; do
    run=$((run + 1))
    if [ "$backend" = postgres ]; then
      psql -XqAt -c "CREATE DATABASE run$run" "$conn"
      db="postgres:${conn/dbname=visura/dbname=run$run}"
    else
      db=$work/run$run.db
    fi
    V=$(cd "$b" && pwd)/visura
    "$V" init --db "$db" --admin-name "Bench Admin" --admin-email bench@example.org > /dev/null
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
