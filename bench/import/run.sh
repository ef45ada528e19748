#!/usr/bin/env bash
# bench/import — generate N persons (default 1,000,000) in one municipality,
# import the snapshot into a new database, then 30 daily deltas.
# Reports, for each step, wall time, CPU time (user+system: on a loaded
# machine the fairer figure), peak RSS and persons/s.  Usage:
#   [BACKEND=postgres] bench/import/run.sh [PERSONS] [BUILD_DIR]
# BACKEND=postgres: a throwaway PostgreSQL server (scripts/pg.sh) on this
# machine instead of a SQLite file.
set -euo pipefail
cd "$(dirname "$0")/../.."
persons=${1:-1000000}
build=${2:-build}
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
[ -x "$build/visura" ] || scripts/build.sh "$build"
V=$PWD/$build/visura
work=$(mktemp -d /tmp/visura-bench-import.XXXXXX)
db=$work/v.db
if [ "${BACKEND:-sqlite}" = postgres ]; then
  trap 'scripts/pg.sh stop "$pgdir"; rm -rf "$work"' EXIT
  pgdir=$(mktemp -d /tmp/visura-bench-pg.XXXXXX); rmdir "$pgdir"
  db="postgres:$(scripts/pg.sh start "$pgdir")"
  export VISURA_STATE_DIR=$work
else
  trap 'rm -rf "$work"' EXIT
fi

measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$@" > "$work/out" 2>&1 || { cat "$work/out"; exit 1; }
  read -r secs kb usr sys < "$work/time"
  # persons of the step: the sum over the files imported ("N persone,")
  local persons rate=""
  persons=$( (grep -o '[0-9]* persone,' "$work/out" || true) | awk '{n += $1} END {print n + 0}')
  if [ "$persons" -gt 0 ]; then
    rate=$(printf '  %8.0f persons/s' "$(echo "$persons / $secs" | bc -l)")
  fi
  printf '%-28s %8.2f s  cpu %7.2f s  peak RSS %6.1f MB%s\n' "$label" "$secs" \
    "$(echo "$usr + $sys" | bc -l)" "$(echo "$kb / 1024" | bc -l)" "$rate"
  tail -n 1 "$work/out" | sed 's/^/    /'
}

echo "back end: ${BACKEND:-sqlite}"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "machine: $(nproc) cores, $(grep MemTotal /proc/meminfo | awk '{printf "%.0f GiB", $2/1048576}'), $(uname -r)"
measure "gen $persons + 30 days" "$V" gen --persons "$persons" --comune 036023 --seed 1 --days 30 --out "$work/feed"
"$V" init --db "$db" --admin-name "Bench Admin" --admin-email bench@example.org > /dev/null
measure "import FULL snapshot" "$V" import --db "$db" --quiet "$work/feed/036023-000001-FULL.tsv"
measure "import 30 deltas" "$V" import --db "$db" --quiet "$work"/feed/036023-0000*-DELTA.tsv
measure "re-import snapshot (no-op)" "$V" import --db "$db" --quiet "$work/feed/036023-000001-FULL.tsv"
if [ "${BACKEND:-sqlite}" = postgres ]; then
  echo "database: $(psql -XAtc "SELECT pg_size_pretty(pg_database_size(current_database()))" "${db#postgres:}")"
else
  echo "database: $(du -h "$db" | cut -f1)"
fi
