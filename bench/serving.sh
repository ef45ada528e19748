# bench/serving.sh — sourced by the benchmarks that measure look-ups while
# something else runs (bench/import-serving, bench/purge).  They set $work
# (bench/lookup/setup.py's work dir: cookie.txt, cfs.txt) and $vport (the
# server's port) before calling these.

# wrk's rate, latencies and failures of an output file, and the load.
out() { grep -E "Requests/sec|  50%|  99%|Non-2xx|Socket errors|requests in" "$1" | sed 's/^/    /'
        echo "    load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"; }
# Waits (up to 10 s) until no connection to visura's port is left open on
# the server's side: until then they count towards per_ip_connections.
drained() {
  for _ in $(seq 1 100); do
    [ "$(ss -Htn state established state close-wait "( sport = :$vport )" | wc -l)" = 0 ] && return
    sleep 0.1
  done
  echo "    (connections of the previous run still open after 10 s)"
}
# Look-ups by codice fiscale, wrk -t2 -c64.  $1: output file, $2...: extra
# wrk arguments.
lookups() {
  local f=$1; shift
  drained
  COOKIE=$(cat "$work/cookie.txt") LIST=$work/cfs.txt KIND=cf \
    wrk -t2 -c64 --latency -s bench/lookup/lookup.lua "$@" "https://127.0.0.1:$vport" > "$f"
}
