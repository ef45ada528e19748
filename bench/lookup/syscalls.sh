#!/usr/bin/env bash
# bench/lookup/syscalls.sh — system calls per look-up by codice fiscale,
# counted by strace -c -f on the running server during a wrk run: a count
# that does not depend on what else the machine runs.
#   [AUTH=voucher] [CONNS=64] bench/lookup/syscalls.sh [PERSONS] [BUILD_DIR] [DURATION]
# Sets up PERSONS (default 20,000) with bench/lookup/setup.py, warms up for
# 2 s (session look-ups), then attaches strace to every thread of the server for DURATION
# (default 10s) of wrk -t2 -cCONNS look-ups (with AUTH=voucher: each with its
# own PDND voucher and tracking evidence, bench/lookup/voucher.lua; VOUCHERS
# pairs, default 1,000 a second), and
# prints the answers, the latencies wrk saw (under strace: slower than
# bench/lookup/run.sh), the calls per answer of every system call made
# more than once per 100 answers, and the load average.
set -euo pipefail
cd "$(dirname "$0")/../.."
persons=${1:-20000}
build=${2:-build}
dur=${3:-10s}
conns=${CONNS:-64}
auth=${AUTH:-session}
case $build in /*) V=$build/visura ;; *) V=$PWD/$build/visura ;; esac
[ -x "$V" ] || { echo "no $V: build it first (scripts/build.sh $build)"; exit 1; }
work=$(mktemp -d /tmp/visura-syscalls.XXXXXX)
cleanup() {
  [ -f "$work/server.pid" ] && kill "$(cat "$work/server.pid")" 2>/dev/null || true
  sleep 0.5
  if [ -n "${KEEP:-}" ]; then echo "work dir: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
port=$((18900 + RANDOM % 90))
AUTH=$auth python3 -B bench/lookup/setup.py "$V" "$work" "$persons" "$port" > "$work/setup.txt"
pid=$(cat "$work/server.pid")
secs=${dur%s}
if [ "$auth" = voucher ]; then
  python3 -B bench/lookup/vouchers.py "$work" "${VOUCHERS:-$(( (secs + 3) * 1000 ))}" "$work/tokens.txt" >/dev/null
  run_wrk() { LIST=$work/cfs.txt TOKENS=$work/tokens.txt wrk -t$(( conns < 2 ? 1 : 2 )) -c"$conns" -d"$1" --timeout 10s \
                --latency -s bench/lookup/voucher.lua "https://127.0.0.1:$port" -- $(( conns < 2 ? 1 : 2 )); }
else
  run_wrk() { COOKIE=$(cat "$work/cookie.txt") LIST=$work/cfs.txt KIND=cf wrk -t$(( conns < 2 ? 1 : 2 )) -c"$conns" -d"$1" \
                --latency -s bench/lookup/lookup.lua "https://127.0.0.1:$port"; }
fi
echo "build $V ($(git -C "$(dirname "$V")/.." rev-parse --short HEAD 2>/dev/null || echo '?')), $persons persons, auth $auth, wrk -t2 -c$conns -d$dur"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# The warm-up by session (a voucher is good once: the run needs them all).
COOKIE=$(cat "$work/cookie.txt") LIST=$work/cfs.txt KIND=cf wrk -t1 -c1 -d2s \
  -s bench/lookup/lookup.lua "https://127.0.0.1:$port" > "$work/warm.txt"
strace -c -f -p "$pid" -o "$work/strace.txt" &
spid=$!
sleep 1
run_wrk "$dur" > "$work/wrk.txt"
kill -INT $spid; wait $spid || true
grep -E "Requests/sec|  50%|  99%|Non-2xx|Socket errors" "$work/wrk.txt" | sed 's/^/  /'
n=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
echo "answers: $n; system calls per answer:"
awk -v n="$n" '$1 ~ /^[0-9.]+$/ && NF >= 5 { c = $4; name = $NF; if (c / n >= 0.01) printf "  %-16s %7d  %.2f\n", name, c, c / n }' "$work/strace.txt" | sort -k3 -n -r
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
