#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server (scripts/pg.sh) whose
# conninfo is in VISURA_TEST_PG; the server is stopped and removed after.
#   tests/with_pg.sh COMMAND [ARGS...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/visura-pg.XXXXXX)
rmdir "$dir"
trap '"$root/scripts/pg.sh" stop "$dir"' EXIT
VISURA_TEST_PG=$(PG_TEST_FSYNC=off "$root/scripts/pg.sh" start "$dir")
export VISURA_TEST_PG VISURA_TEST_PG_DIR=$dir
"$@"
