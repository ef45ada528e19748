#!/usr/bin/env bash
# bench/stats — the statistics on PERSONS (default 1,000,000) persons of one
# municipality whose register covers DAYS (default 760: 25 months) of daily
# events from 2026-01-01.  Reports time and peak RSS of `visura stats`:
#   - every standard table (`--table`), the yearly balance over two years;
#   - a 24-month series (`--series population`, and a rate);
# and, as the reference in the same run, SQLite's own single pass over the
# same file (the sqlite3 shell: current residents by sex and birth date,
# GROUP BY) — the floor of reading the register once.
#   bench/stats/run.sh [PERSONS] [BUILD_DIR] [DAYS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
persons=${1:-1000000}
build=${2:-build}
days=${3:-760}
runs=${4:-3}
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
[ -x "$build/visura" ] || scripts/build.sh "$build"
case $build in /*) V=$build/visura ;; *) V=$PWD/$build/visura ;; esac
work=$(mktemp -d /tmp/visura-bench-stats.XXXXXX)
trap 'rm -rf "$work"' EXIT
t0=$(date +%s.%N)
"$V" gen --persons "$persons" --comune 036023 --seed 1 --days "$days" --out "$work/feed" 2>/dev/null
"$V" init --db "$work/v.db" --admin-name "Bench Admin" --admin-email bench@example.org > /dev/null
"$V" import --db "$work/v.db" --quiet "$work"/feed/*.tsv > /dev/null
printf 'set-up (gen + import of %s persons, %s days): %s s, database %s\n' "$persons" "$days" \
  "$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")" "$(du -h "$work/v.db" | cut -f1)"
# one measured command: NAME then the command; prints the best and worst of RUNS
measure() {
  local name=$1; shift
  local all=()
  for run in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" "$@" > "$work/out" 2> "$work/time" || {
      echo "$name: failed"; cat "$work/time"; exit 1; }
    all+=("$(tail -1 "$work/time")")
  done
  printf '%s\n' "${all[@]}" | sort -n | awk -v n="$name" '
    NR == 1 { lo = $1; rss = $2 } { hi = $1; if ($2 > rss) rss = $2 }
    END { printf "%-44s %6.2f – %6.2f s   peak RSS %4d MB\n", n, lo, hi, rss / 1024 }'
}
Q="SELECT sex, birth_date, count(*) FROM person WHERE canc_reason = 0 GROUP BY sex, birth_date;"
measure "reference: sqlite3, one GROUP BY pass" sqlite3 "$work/v.db" "$Q"
# (the old summary is retired: `visura stats` needs --table or --series)
for t in posas strasa strasa_cittadinanza famiglie; do
  measure "table $t (1 January 2027)" "$V" stats --db "$work/v.db" --table "$t" --year 2027
done
for t in famiglie_tipologia strasa_cittadinanza_eta; do   # when the build has them
  if "$V" stats --db "$work/v.db" --table "$t" --year 2027 > /dev/null 2>&1; then
    measure "table $t (1 January 2027)" "$V" stats --db "$work/v.db" --table "$t" --year 2027
  fi
done
# 24 whole months inside the period the register covers (it starts the
# day after the first import, 2026-01-01)
measure "table bilancio, 24 months" "$V" stats --db "$work/v.db" --table bilancio \
  --from 2026-02-01 --to 2028-01-31
measure "series population, 24 months" "$V" stats --db "$work/v.db" --series population \
  --from 2026-02 --to 2028-01
measure "series crude_birth_rate, 24 months" "$V" stats --db "$work/v.db" \
  --series crude_birth_rate --from 2026-02 --to 2028-01
"$V" stats --db "$work/v.db" --series population --from 2026-02 --to 2028-01 > "$work/s.json"
python3 -c "
import json; d = json.load(open('$work/s.json')); p = d['serie'][0]['punti']
print('series check:', len(p), 'points,', p[0]['periodo'], p[0]['valore'], '...', p[-1]['periodo'], p[-1]['valore'])"
