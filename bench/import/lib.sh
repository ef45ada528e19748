# bench/import/lib.sh — sourced by second.sh and events.sh, from the
# repository's root.  BUILDS: the build directories given (build/ if none).

# bench_start NAME: the work directory $work (removed at exit, with the
# PostgreSQL server if bench_db started one), VISURA_STATE_DIR in it, and
# the machine's line.
bench_start() {
  [ ${#builds[@]} -gt 0 ] || builds=(build)
  command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
  work=$(mktemp -d "/tmp/visura-bench-$1.XXXXXX")
  pgdir=""
  trap '[ -z "$pgdir" ] || scripts/pg.sh stop "$pgdir"; rm -rf "$work"' EXIT
  export VISURA_STATE_DIR=$work
  echo "machine: $(nproc) cores, $(grep MemTotal /proc/meminfo | awk '{printf "%.0f GiB", $2/1048576}'), $(uname -r)"
}

# bench_db BACKEND BUILD: $db, a new database initialised by BUILD: a
# SQLite file, or a database of one throwaway PostgreSQL server started on
# first use ($run counts them).
bench_db() {
  run=$((${run:-0} + 1))
  if [ "$1" = postgres ]; then
    if [ -z "$pgdir" ]; then
      pgdir=$(mktemp -d /tmp/visura-bench-pg.XXXXXX); rmdir "$pgdir"
      conn=$(scripts/pg.sh start "$pgdir")
    fi
    psql -XqAt -c "CREATE DATABASE run$run" "$conn"
    db="postgres:${conn/dbname=visura/dbname=run$run}"
  else
    db=$work/run$run.db
  fi
  "$2/visura" init --db "$db" --admin-name "Bench Admin" --admin-email bench@example.org > /dev/null
}
