#!/usr/bin/env bash
# The anti-extraction rules' cost per request with PERSONS distinct persons
# already in one account's hour (bench/alert/alert_bench.c): wall time, and
# callgrind's instruction count of the measured phase alone (repeatable).
#   bench/alert/run.sh [BUILD_DIR] [PERSONS] [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
persons=${2:-100000}
requests=${3:-2000}
cmake --build "$build" --target alert_bench >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/alert_bench" "$tmp/bench.db" "$persons" "$requests"
if command -v valgrind >/dev/null; then
	valgrind --tool=callgrind --collect-atstart=no --toggle-collect=measure \
		--callgrind-out-file="$tmp/cg.out" "$build/alert_bench" "$tmp/cg.db" "$persons" \
		"$requests" >/dev/null 2>"$tmp/cg.log"
	ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/cg.log")
	echo "callgrind: measured phase $ir instructions, $((ir / requests)) per request"
fi
