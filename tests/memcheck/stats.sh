#!/usr/bin/env bash
# memcheck.stats — every statistics table and a series of several
# indicators, for a province's pool and for one of its municipalities,
# run under valgrind's memcheck on a small generated register: a read of
# memory never written (a byte after a code's end compared with memcmp,
# an uninitialised count) fails the test.  AddressSanitizer does not see
# those reads; the one found this way (a province's stato_civile refused
# on a register of 1,000,000 persons, "POSAS della provincia su altri
# comuni", because the municipalities' code slots were compared byte by
# byte past their end) depended on what the heap held before.
#   tests/memcheck/stats.sh VISURA
set -euo pipefail
V=$1
command -v valgrind >/dev/null || { echo "valgrind is not installed (scripts/deps.sh installs it)"; exit 1; }
work=$(mktemp -d /tmp/visura-memcheck.XXXXXX)
trap 'rm -rf "$work"' EXIT
# two municipalities of one province (a pool cut as a whole province)
# and one of another; February covered whole
"$V" gen --persons 3000 --comune 036023,036005,037006 --seed 3 --days 35 --out "$work/feed" 2>/dev/null
"$V" init --db "$work/v.db" --admin-name "Memcheck" --admin-email memcheck@example.org > /dev/null
(cd "$work/feed" && ls -- *.tsv) | sort -t- -k2,2 -k1,1 | sed "s|^|$work/feed/|" | tr '\n' '\0' |
  xargs -0 "$V" import --db "$work/v.db" --quiet > /dev/null
fail=0
# Without --track-origins (which finds the same reads at about twice the
# time); a failure is run again with it, for where the memory came from.
run() {
  if ! valgrind -q --error-exitcode=9 "$V" stats --db "$work/v.db" "$@" \
       > "$work/out" 2> "$work/vg"; then
    echo "FAIL stats $*"
    valgrind -q --error-exitcode=9 --track-origins=yes "$V" stats --db "$work/v.db" "$@" \
      > "$work/out" 2> "$work/vg" || true
    cat "$work/vg"; fail=1
  else
    echo "ok   stats $*"
  fi
}
for where in 036023,036005 036023 036023,036005,037006; do
  for t in posas strasa strasa_cittadinanza strasa_cittadinanza_eta famiglie famiglie_tipologia stato_civile; do
    run --table "$t" --date 2026-02-01 --comune "$where"
  done
  run --table bilancio --from 2026-01 --to 2026-01 --comune "$where"
done
run --table localita --date 2026-02-01 --comune 036023
run --table strade --date 2026-02-01 --comune 036023
run --series population,births,old_age_index,average_age --from 2026-01 --to 2026-01 --comune 036023,036005
exit $fail
