#!/usr/bin/env bash
# The searches of the access trail (bench/trail/trail_bench.c) on a trail
# of RECORDS records (default 3,000,000), a reference build beside this
# one on copies of the same trail, alternated ROUNDS times (default 2).
#   [BACKEND=postgres] [ROUNDS=N] [NICE=1] bench/trail/run.sh REF_BUILD [BUILD] [RECORDS]
# The trail is written by the reference (its schema); the build under test
# migrates its copy when it opens it (the time printed).  PostgreSQL: a
# throwaway server (scripts/pg.sh), both copies VACUUM ANALYZEd as
# autovacuum would leave them.  NICE=1: the fill at nice 10.
set -euo pipefail
cd "$(dirname "$0")/../.."
ref=${1:?usage: bench/trail/run.sh REF_BUILD [BUILD] [RECORDS]}
build=${2:-build}
records=${3:-3000000}
rounds=${ROUNDS:-2}
nice=()
[ "${NICE:-0}" = 1 ] && nice=(nice -n 10)
for b in "$ref" "$build"; do cmake --build "$b" --target trail_bench >/dev/null; done
tmp=$(mktemp -d /tmp/visura-trail.XXXXXX)
pgdir=
cleanup() {
	[ -n "$pgdir" ] && scripts/pg.sh stop "$pgdir" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
if [ "${BACKEND:-sqlite}" = postgres ]; then
	pgdir=$(mktemp -d /tmp/visura-pg-trail.XXXXXX)
	rmdir "$pgdir"   # scripts/pg.sh makes it, for the server's user
	conn=$(scripts/pg.sh start "$pgdir")
	refuri="postgres:$(scripts/pg.sh createdb "$pgdir" trail_ref)"
	"${nice[@]}" "$ref/trail_bench" "$refuri" fill "$records"
	psql -q "${refuri#postgres:}" -c "VACUUM ANALYZE"
	psql -q "$conn" -c "CREATE DATABASE trail_new TEMPLATE trail_ref"
	newuri="postgres:$(scripts/pg.sh conninfo "$pgdir" trail_new)"
else
	refuri=$tmp/ref.db
	newuri=$tmp/new.db
	"${nice[@]}" "$ref/trail_bench" "$refuri" fill "$records"
	for f in "$tmp"/ref.db*; do cp "$f" "$tmp/new.db${f#"$tmp"/ref.db}"; done
fi
for r in $(seq "$rounds"); do
	echo "== round $r, reference $ref ($(cut -d' ' -f1-3 /proc/loadavg))"
	"$ref/trail_bench" "$refuri" search
	echo "== round $r, $build ($(cut -d' ' -f1-3 /proc/loadavg))"
	"$build/trail_bench" "$newuri" search
done
