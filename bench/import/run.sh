#!/usr/bin/env bash
# bench/import — generate N persons (default 1,000,000) in one municipality,
# import the snapshot into a new SQLite database, then 30 daily deltas.
# Reports persons/s and peak RSS of each step.  Usage:
#   bench/import/run.sh [PERSONS] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
persons=${1:-1000000}
build=${2:-build}
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
[ -x "$build/visura" ] || scripts/build.sh "$build"
V=$PWD/$build/visura
work=$(mktemp -d /tmp/visura-bench-import.XXXXXX)
trap 'rm -rf "$work"' EXIT

measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out" 2>&1 || { cat "$work/out"; exit 1; }
  read -r secs kb < "$work/time"
  printf '%-28s %8.2f s  peak RSS %6.1f MB\n' "$label" "$secs" "$(echo "$kb / 1024" | bc -l)"
  tail -n 1 "$work/out" | sed 's/^/    /'
}

echo "machine: $(nproc) cores, $(grep MemTotal /proc/meminfo | awk '{printf "%.0f GiB", $2/1048576}'), $(uname -r)"
measure "gen $persons + 30 days" "$V" gen --persons "$persons" --comune 036023 --seed 1 --days 30 --out "$work/feed"
"$V" init --db "$work/v.db" > /dev/null
measure "import FULL snapshot" "$V" import --db "$work/v.db" --quiet "$work/feed/036023-000001-FULL.tsv"
measure "import 30 deltas" "$V" import --db "$work/v.db" --quiet "$work"/feed/036023-0000*-DELTA.tsv
measure "re-import snapshot (no-op)" "$V" import --db "$work/v.db" --quiet "$work/feed/036023-000001-FULL.tsv"
echo "database: $(du -h "$work/v.db" | cut -f1)"
