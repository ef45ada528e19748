#!/usr/bin/env bash
# bench/lookup/instr.sh — instructions per look-up by codice fiscale, counted
# by callgrind: a measure that does not depend on what else the machine runs
# (requests/second and CPU time do).
#   bench/lookup/instr.sh [BUILD_DIR] [N] [PERSONS] [TOP]
# Sets up a register of PERSONS (default 20,000) with bench/lookup/setup.py,
# then runs the server twice under valgrind --tool=callgrind: WARM look-ups
# (default 50: caches, prepared statements) and then none, and WARM and then
# N (default 2,000), one after the other on one keep-alive connection (so
# every group commit carries one record: the worst case for per-commit
# costs).  Prints, from the difference of the two runs function by function,
# instructions per answer in total and by area (bench/lookup/instr_split.py);
# TOP > 0 also lists the TOP functions by own cost.  KEEP=1 leaves the work
# dir (base.callgrind, lookups.callgrind for callgrind_annotate).
# CONNS=C (default 1): the N look-ups on C connections at once instead (each
# client sequential, N/C each), so that group commits carry several records
# as under load; the answers per commit are printed (tree heads counted by
# `visura audit verify`; callgrind runs one thread at a time, so batches stay
# smaller than without it).
# BUILD_DIR may be a build of an older commit: setup.py passes only the
# options that build knows.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
build=${1:-build}
n=${2:-2000}
persons=${3:-20000}
top=${4:-0}
warm=${WARM:-50}
conns=${CONNS:-1}
[ $((n % conns)) -eq 0 ] || { echo "N must be a multiple of CONNS"; exit 2; }
case $build in /*) V=$build/visura ;; *) V=$PWD/$build/visura ;; esac
[ -x "$V" ] || { echo "no $V: build it first (scripts/build.sh $build)"; exit 1; }
command -v valgrind >/dev/null || { apt-get update -qq; apt-get install -y -qq valgrind >/dev/null; }
work=$(mktemp -d /tmp/visura-instr.XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  [ -f "$work/server.pid" ] && kill "$(cat "$work/server.pid")" 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "work dir: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
port=$((18700 + RANDOM % 200))
python3 bench/lookup/setup.py "$V" "$work" "$persons" "$port" > "$work/setup.txt"
spid=$(cat "$work/server.pid")
mapfile -d '' cmd < "/proc/$spid/cmdline"
kill "$spid"; while kill -0 "$spid" 2>/dev/null; do sleep 0.1; done
rm -f "$work/server.pid"
# Run as root, the server drops to the user given by --user after start-up,
# and could not then write callgrind's file: valgrind starts as that user.
as=(); args=(); next=
for a in "${cmd[@]}"; do
  if [ "$next" = user ]; then as=(runuser -u "$a" --); chown -R "$a" "$work"; next=; continue; fi
  if [ "$a" = --user ]; then next=user; continue; fi
  args+=("$a")
done
c=bench/lookup/instr_client.py
# One life of the server under callgrind: start, WARM + COUNT look-ups,
# SIGTERM; its whole count is written at exit.  (callgrind_control could
# not reach the server here, so no dump in between: the answers' cost is
# the difference of two lives, N look-ups and none.)
life() {  # life COUNT OUT
  rm -f "$work/valgrind.pid"
  "${as[@]}" sh -c 'echo $$ > "$0/valgrind.pid"; exec "$@"' "$work" \
    valgrind --tool=callgrind --callgrind-out-file="$2" \
    "${args[@]}" > "$work/valgrind.txt" 2>&1 &
  while [ ! -s "$work/valgrind.pid" ]; do sleep 0.1; done
  pid=$(cat "$work/valgrind.pid")
  python3 - "$port" <<'EOF'
import http.client, ssl, sys, time
for _ in range(2400):
    try:
        c = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]), context=ssl._create_unverified_context(), timeout=30)
        c.request("GET", "/healthz")
        if c.getresponse().status == 200:
            sys.exit(0)
    except OSError:
        time.sleep(0.25)
sys.exit("server under valgrind did not answer")
EOF
  python3 $c "$port" "$work/cookie.txt" "$work/cfs.txt" "$warm" 0 >/dev/null
  if [ "$1" -gt 0 ]; then
    local k cpids=()
    for ((k = 0; k < conns; k++)); do
      python3 $c "$port" "$work/cookie.txt" "$work/cfs.txt" "$(( $1 / conns ))" "$(( warm + k * $1 / conns ))" >/dev/null &
      cpids+=($!)
    done
    for k in "${cpids[@]}"; do wait "$k"; done
  fi
  kill "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  pid=
  [ -s "$2" ] || { echo "no callgrind output $2"; cat "$work/valgrind.txt"; exit 1; }
}
heads() { "${as[@]}" "$V" audit verify --db "$work/v.db" |
  sed -n -e 's/.* \([0-9]*\) signed tree heads verified.*/\1/p' \
      -e "s/.* \([0-9]*\) teste firmate dell'albero verificate.*/\1/p"; }
life 0 "$work/base.callgrind"
h0=$(heads)
life "$n" "$work/lookups.callgrind"
h1=$(heads)
echo "build: $V ($(git -C "$(dirname "$V")/.." rev-parse --short HEAD 2>/dev/null || echo '?')), $persons persons, $n look-ups after $warm on $conns connection(s) (difference of two lives)"
[ -n "$h0" ] && [ -n "$h1" ] && [ "$h1" -gt "$h0" ] &&
  echo "answers per group commit in the second life: $(echo "scale=2; ($warm + $n) / ($h1 - $h0)" | bc) ($((warm + n)) records, $((h1 - h0)) tree heads)"
python3 bench/lookup/instr_split.py "$work/lookups.callgrind" "$n" "$top" "$work/base.callgrind"
