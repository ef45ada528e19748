#!/usr/bin/env bash
# bench/stats — the full statistics (population tables, households, events
# per month, indicators, suppression) on PERSONS (default 1,000,000) persons
# with 30 days of events; reports the time and peak RSS of `visura stats`.
#   bench/stats/run.sh [PERSONS] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
persons=${1:-1000000}
build=${2:-build}
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
[ -x "$build/visura" ] || scripts/build.sh "$build"
V=$PWD/$build/visura
work=$(mktemp -d /tmp/visura-bench-stats.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$V" gen --persons "$persons" --comune 036023 --seed 1 --days 30 --out "$work/feed" 2>/dev/null
"$V" init --db "$work/v.db" --admin-name "Bench Admin" --admin-email bench@example.org > /dev/null
"$V" import --db "$work/v.db" --quiet "$work"/feed/*.tsv > /dev/null
for run in 1 2 3; do
  /usr/bin/time -f "%e s, peak RSS %M KB" "$V" stats --db "$work/v.db" --as-of 2026-01-31 \
    --from 2026-01-01 --to 2026-01-31 > "$work/stats.json" 2> "$work/time"
  echo "visura stats ($persons persons), run $run: $(cat "$work/time")"
done
python3 -c "import json,sys; d=json.load(open('$work/stats.json')); print('population', d['population']['total'], 'indicators', d['indicators'])"
