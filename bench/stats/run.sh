#!/usr/bin/env bash
# bench/stats — the statistics on PERSONS (default 1,000,000) persons of one
# municipality whose register covers DAYS (default 760: 25 months) of daily
# events from 2026-01-01.  Reports time and peak RSS of `visura stats`:
#   - every standard table (`--table`), the yearly balance over two years;
#   - a 24-month series (`--series population`, and a rate);
#   - several indicators in one list against the same one by one (the
#     statistics screen's 11 yearly ones; all 20 over 24 months);
# and, as the reference in the same run, SQLite's own single pass over the
# same file (the sqlite3 shell: current residents by sex and birth date,
# GROUP BY) — the floor of reading the register once.
#   bench/stats/run.sh [PERSONS] [BUILD_DIR] [DAYS] [RUNS]
# COMUNI=CODE,CODE,... (environment) spreads the persons over several
# municipalities (e.g. a province's): the tables and series are then of
# their pool (a whole province protected as one territory, its
# municipalities jointly with it: docs/api.md, "Segreto statistico"),
# and the cells the pool's posas and series hide are counted, and those
# of the pool's and the members' households and citizenships tables;
# localita and strade (one municipality's tables) are of the first of
# COMUNI.  ONLY_TABLES=1 stops after the tables.  BASELINE=PATH
# (environment) measures a second visura
# binary (e.g. the previous commit's) on the same database, each command
# right after this build's.  PROVINCE=1 (environment, with COMUNI the
# municipalities of one province) measures only what the protection
# linked with the province costs: posas and the 24-month bilancio of one
# member (the first of COMUNI, which reads its whole province) and of the
# province (the pool of all), their strasa, strasa_cittadinanza,
# famiglie_tipologia, strasa_cittadinanza_eta and stato_civile, the
# member's localita and strade, the province's 24-month series, and the
# cells strasa_cittadinanza_eta hides (the province's,
# its members') and how many of its state totals are hidden unlike
# strasa_cittadinanza's same rows (COUNT=first: of the province and the
# first member only, for a slow baseline), and whether this build's
# strasa_cittadinanza_eta of the province and of the first member is
# BASELINE's byte for byte.  DB=DIR (environment) keeps the database in
# DIR and sets it up only when DIR holds none (the same PERSONS, COMUNI
# and DAYS are then the caller's to give again).  Times are wall clock
# (best – worst) and CPU (user + system, of the best run), which depends
# less on the load.
set -euo pipefail
cd "$(dirname "$0")/../.."
persons=${1:-1000000}
build=${2:-build}
days=${3:-760}
runs=${4:-3}
comuni=${COMUNI:-036023}
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
[ -x "$build/visura" ] || scripts/build.sh "$build"
case $build in /*) V=$build/visura ;; *) V=$PWD/$build/visura ;; esac
if [ -n "${DB:-}" ]; then
  work=$DB
  mkdir -p "$work"
else
  work=$(mktemp -d /tmp/visura-bench-stats.XXXXXX)
  trap 'rm -rf "$work"' EXIT
fi
if [ -e "$work/v.db" ]; then
  echo "set-up: the database of $work ($(du -h "$work/v.db" | cut -f1)) again"
else
  t0=$(date +%s.%N)
  "$V" gen --persons "$persons" --comune "$comuni" --seed 1 --days "$days" --out "$work/feed" 2>/dev/null
  "$V" init --db "$work/v.db" --admin-name "Bench Admin" --admin-email bench@example.org > /dev/null
  # in the order of the days (sequence, then municipality: a person moving
  # from one to another), in batches (a province's files are more than one
  # command line holds)
  (cd "$work/feed" && ls -- *.tsv) | sort -t- -k2,2 -k1,1 | sed "s|^|$work/feed/|" | tr '\n' '\0' |
    xargs -0 "$V" import --db "$work/v.db" --quiet > /dev/null
  rm -rf "$work/feed"
  printf 'set-up (gen + import of %s persons in %s municipalities, %s days): %s s, database %s\n' \
    "$persons" "$(echo "$comuni" | tr ',' '\n' | wc -l)" "$days" \
    "$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")" "$(du -h "$work/v.db" | cut -f1)"
fi
# one measured command: NAME then the command; prints the best and worst of RUNS
measure() {
  local name=$1; shift
  local all=()
  for run in $(seq "$runs"); do
    /usr/bin/time -f "%e %M %U %S" "$@" > "$work/out" 2> "$work/time" || {
      echo "$name: failed"; cat "$work/time"; exit 1; }
    all+=("$(tail -1 "$work/time")")
  done
  printf '%s\n' "${all[@]}" | sort -n | awk -v n="$name" '
    NR == 1 { lo = $1; rss = $2; cpu = $3 + $4 } { hi = $1; if ($2 > rss) rss = $2 }
    END { printf "%-44s %6.2f – %6.2f s   CPU %6.2f s   peak RSS %4d MB\n", n, lo, hi, cpu, rss / 1024 }'
}
# a visura command: this build's, then BASELINE's when given
both() {
  local name=$1; shift
  measure "$name" "$V" "$@"
  [ -z "${BASELINE:-}" ] || measure "$name [baseline]" "$BASELINE" "$@"
}
# localita and strade, one municipality's tables (of the first of COMUNI),
# when the build has them; NAME's prefix first
places() {
  local t
  for t in localita strade; do
    if "$V" stats --db "$work/v.db" --table "$t" --year 2027 --comune "${comuni%%,*}" > /dev/null 2>&1; then
      both "$1${1:+: }table $t (1 January 2027)" stats --db "$work/v.db" --table "$t" --year 2027 \
        --comune "${comuni%%,*}"
    fi
  done
}
Q="SELECT sex, birth_date, count(*) FROM person WHERE canc_reason = 0 GROUP BY sex, birth_date;"
measure "reference: sqlite3, one GROUP BY pass" sqlite3 "$work/v.db" "$Q"
if [ -n "${PROVINCE:-}" ]; then
  member=${comuni%%,*}
  for who in "member $member:--comune $member" "province:"; do
    IFS=: read -r what args <<< "$who"
    for t in strasa strasa_cittadinanza famiglie_tipologia strasa_cittadinanza_eta stato_civile; do
      # shellcheck disable=SC2086  # args: none or two words
      both "$what: table $t (1 January 2027)" stats --db "$work/v.db" --table "$t" --year 2027 $args
    done
    # shellcheck disable=SC2086  # args: none or two words
    both "$what: table posas (1 January 2027)" stats --db "$work/v.db" --table posas --year 2027 $args
    # shellcheck disable=SC2086
    both "$what: table bilancio, 24 months" stats --db "$work/v.db" --table bilancio \
      --from 2026-02 --to 2028-01 $args
  done
  places "member $member"
  both "province: series births, 24 months" stats --db "$work/v.db" --series births \
    --from 2026-02 --to 2028-01
  # the cells strasa_cittadinanza_eta hides, of the province (the pool of
  # all) and of its members each asked alone; its state total rows beside
  # strasa_cittadinanza's rows of the same states (hidden alike or not)
  counted=$comuni
  [ "${COUNT:-}" != first ] || counted=$member
  for bin in "$V" ${BASELINE:+"$BASELINE"}; do
    for c in "$comuni" ${counted//,/ }; do
      f=$c; [[ $c != *,* ]] || f=province
      "$bin" stats --db "$work/v.db" --table strasa_cittadinanza_eta --year 2027 --comune "$c" \
        > "$work/cite-$f.json"
      "$bin" stats --db "$work/v.db" --table strasa_cittadinanza --year 2027 --comune "$c" \
        > "$work/cit-$f.json"
      [ "$bin" != "$V" ] || cp "$work/cite-$f.json" "$work/cite-$f.this.json"
      [ "$bin" = "$V" ] || { cmp -s "$work/cite-$f.json" "$work/cite-$f.this.json" &&
        echo "strasa_cittadinanza_eta of $f: the baseline's byte for byte" ||
        echo "strasa_cittadinanza_eta of $f: UNLIKE the baseline's"; }
    done
    python3 - "$work" "$counted" "$bin" <<'PY'
import json, sys
work, comuni, name = sys.argv[1], sys.argv[2], sys.argv[3]
def load(kind, c): return json.load(open(f"{work}/{kind}-{c}.json"))["righe"]
out = {}
for who, codes in (("province", ["province"]), ("members", comuni.split(","))):
    cells = hidden = totals = differ = 0
    for c in codes:
        cit = {r[2]: [x is None for x in r[4:7]] for r in load("cit", c)}
        for r in load("cite", c):
            h = [x is None for x in r[5:8]]
            cells += 3
            hidden += sum(h)
            if r[4] == "999" and r[2] != "999":
                totals += 3
                differ += sum(a != b for a, b in zip(h, cit.get(r[2], [False] * 3)))
    out[who] = f"{hidden} of {cells} cells hidden, state totals unlike strasa_cittadinanza {differ} of {totals}"
print(f"{name} strasa_cittadinanza_eta: the province {out['province']}; its members {out['members']}")
PY
  done
  exit 0
fi
# (the old summary is retired: `visura stats` needs --table or --series)
for t in posas strasa strasa_cittadinanza famiglie; do
  both "table $t (1 January 2027)" stats --db "$work/v.db" --table "$t" --year 2027
done
for t in famiglie_tipologia strasa_cittadinanza_eta stato_civile; do   # when the build has them
  if "$V" stats --db "$work/v.db" --table "$t" --year 2027 > /dev/null 2>&1; then
    both "table $t (1 January 2027)" stats --db "$work/v.db" --table "$t" --year 2027
  fi
done
places "${comuni%%,*}"
# A whole province's households and citizenships (issue #17: linked
# protection), when COMUNI names several municipalities: the cells the
# pool's famiglie, famiglie_tipologia and strasa_cittadinanza hide, and
# those its members' (each asked alone) hide, for this build and
# BASELINE's; then, with ONLY_TABLES=1, stop (the series take long).
if [[ $comuni == *,* ]]; then
  for t in famiglie famiglie_tipologia strasa_cittadinanza; do
    both "table $t of ${comuni%%,*} alone" stats --db "$work/v.db" --table "$t" --year 2027 \
      --comune "${comuni%%,*}"
    for bin in "$V" ${BASELINE:+"$BASELINE"}; do
      "$bin" stats --db "$work/v.db" --table "$t" --year 2027 --comune "$comuni" > "$work/pool.json"
      for c in ${comuni//,/ }; do
        "$bin" stats --db "$work/v.db" --table "$t" --year 2027 --comune "$c"
      done > "$work/members.json"
      python3 -c "
import json
def hid(d): return [x is None for r in d['righe'] for x in r if not isinstance(x, str)]
pool = hid(json.load(open('$work/pool.json')))
dec = json.JSONDecoder(); text = open('$work/members.json').read(); i = 0; m = []
while i < len(text.rstrip()):
    d, i = dec.raw_decode(text, i); m += hid(d)
    while i < len(text) and text[i].isspace(): i += 1
print('$bin $t hidden: the province (pool)', sum(pool), 'of', len(pool), 'cells; its members',
      sum(m), 'of', len(m))"
    done
  done
fi
[ -z "${ONLY_TABLES:-}" ] || exit 0
# 24 whole months inside the period the register covers (it starts the
# day after the first import, 2026-01-01)
both "table bilancio, 24 months" stats --db "$work/v.db" --table bilancio \
  --from 2026-02 --to 2028-01
both "series population, 24 months" stats --db "$work/v.db" --series population \
  --from 2026-02 --to 2028-01
both "series crude_birth_rate, 24 months" stats --db "$work/v.db" \
  --series crude_birth_rate --from 2026-02 --to 2028-01
# Several indicators in one walk (issue #17): each indicator alone, one
# command after the other (the sum: what asking them one by one costs),
# against all of them in one list, each list's answer checked equal to the
# singles' (the same values, the same hidden ones).  First the statistics
# screen's 11 yearly indicators of the last year covered (one period: the
# screen asked them in 11 requests, now in one), then all 20 over the 24
# months.  For builds without lists only the singles run.
SCREEN=population,old_age_index,dependency_ratio,youth_dependency_ratio,old_age_dependency_ratio
SCREEN=$SCREEN,average_age,foreign_share,natural_balance,migratory_balance,crude_birth_rate,crude_death_rate
ALL=population,males,females,foreigners,foreign_share,old_age_index,dependency_ratio
ALL=$ALL,youth_dependency_ratio,old_age_dependency_ratio,average_age,births,deaths,natural_balance
ALL=$ALL,registrations,cancellations,migratory_balance,crude_birth_rate,crude_death_rate
ALL=$ALL,natural_growth_rate,migratory_rate
last=$("$V" stats --db "$work/v.db" --table bilancio --from 2026-02 --to 2026-02 |
  python3 -c "import json, sys; print(json.load(sys.stdin)['periodo_coperto']['al'][:7])")
# one by one: NAME, BINARY, LIST, then the other arguments; the best and
# worst of RUNS of the whole sequence, the CPU of the best
singles() {
  local name=$1 bin=$2 list=$3; shift 3
  local all=()
  for run in $(seq "$runs"); do
    local wall=0 cpu=0
    for ind in ${list//,/ }; do
      /usr/bin/time -f "%e %M %U %S" "$bin" stats --db "$work/v.db" --series "$ind" "$@" \
        > "$work/one-$ind.json" 2> "$work/time" || { echo "$name: failed"; cat "$work/time"; exit 1; }
      read -r e _ u s < <(tail -1 "$work/time")
      wall=$(python3 -c "print($wall + $e)"); cpu=$(python3 -c "print($cpu + $u + $s)")
    done
    all+=("$wall $cpu")
  done
  printf '%s\n' "${all[@]}" | sort -n | awk -v n="$name" '
    NR == 1 { lo = $1; cpu = $2 } { hi = $1 }
    END { printf "%-44s %6.2f – %6.2f s   CPU %6.2f s\n", n, lo, hi, cpu }'
}
for set in "screen:$SCREEN:--step year --from $last --to $last" "all:$ALL:--from 2026-02 --to 2028-01"; do
  IFS=: read -r what list args <<< "$set"
  n=$(echo "$list" | tr ',' '\n' | wc -l)
  # shellcheck disable=SC2086  # args: several words
  singles "$what: $n series one by one" "$V" "$list" $args
  [ -z "${BASELINE:-}" ] || singles "$what: $n series one by one [baseline]" "$BASELINE" "$list" $args
  # shellcheck disable=SC2086
  measure "$what: the $n in one list" "$V" stats --db "$work/v.db" --series "$list" $args
  # shellcheck disable=SC2086
  "$V" stats --db "$work/v.db" --series "$list" $args > "$work/multi.json"
  python3 -c "
import json, sys
m = json.load(open('$work/multi.json'))['indicatori']
for x in m:
    one = json.load(open('$work/one-' + x['indicatore'] + '.json'))
    assert x['serie'] == one['serie'], x['indicatore']
print('$what: the list equals the singles:', len(m), 'indicators,',
      sum(p['valore'] is None for x in m for s in x['serie'] for p in s['punti']), 'values hidden')"
done
"$V" stats --db "$work/v.db" --series population --from 2026-02 --to 2028-01 > "$work/s.json"
python3 -c "
import json; d = json.load(open('$work/s.json')); p = d['serie'][0]['punti']
print('series check:', len(p), 'points,', p[0]['periodo'], p[0]['valore'], '...', p[-1]['periodo'], p[-1]['valore'])"
for bin in "$V" ${BASELINE:+"$BASELINE"}; do
"$bin" stats --db "$work/v.db" --table posas --year 2027 > "$work/p.json"
"$bin" stats --db "$work/v.db" --series births --from 2026-02 --to 2028-01 > "$work/b.json"
python3 -c "
import json; d = json.load(open('$work/p.json')); s = json.load(open('$work/b.json'))
cells = [x for r in d['righe'] for x in r[3:]]
pts = [p['valore'] for u in s['serie'] for p in u['punti']]
print('$bin hidden: posas', sum(x is None for x in cells), 'of', len(cells), 'cells;',
      'series births', sum(x is None for x in pts), 'of', len(pts), 'points')"
done
