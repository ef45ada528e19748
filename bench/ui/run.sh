#!/usr/bin/env bash
# The web interface's files: bytes a browser downloads on its first visit
# (plain and gzip), and how fast visura serves the page and the largest
# asset (wrk over HTTPS, keep-alive).  Needs a built binary and web/dist.
#   bench/ui/run.sh [BUILD_DIR] [DURATION]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
dur=${2:-10s}
command -v wrk >/dev/null || scripts/deps.sh wrk
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
"$build/visura" init --db "$dir/v.db" --admin-name "Bench Admin" \
  --admin-email bench@example.org > /dev/null
port=$((20000 + RANDOM % 20000))
# Run as root, the server must be told the user to become (docs/deployment.md).
user_args=()
if [ "$(id -u)" -eq 0 ]; then
  id visura-bench > /dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin visura-bench
  chown -R visura-bench: "$dir"
  user_args=(--user visura-bench)
fi
"$build/visura" serve "${user_args[@]}" --db "$dir/v.db" --self-signed "$dir/tls" --listen "127.0.0.1:$port" \
  --metrics-listen "" --ui-dir web/dist > "$dir/log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sk "https://127.0.0.1:$port/healthz" > /dev/null && break; sleep 0.2; done
u=https://127.0.0.1:$port
# What the page loads: itself, its style sheets and scripts (modules
# included), and the three weights of Titillium Web it uses.
files="/ $(cd web/dist && ls app/*.css app/*.js app/screens/*.js vendor/*.css vendor/*.js | sed 's|^|/ui/|' | tr '\n' ' ')"
files+=" /ui/vendor/fonts/Titillium_Web/titillium-web-v10-latin-ext_latin-regular.woff2"
files+=" /ui/vendor/fonts/Titillium_Web/titillium-web-v10-latin-ext_latin-600.woff2"
files+=" /ui/vendor/fonts/Titillium_Web/titillium-web-v10-latin-ext_latin-700.woff2"
plain=0; gz=0; n=0
for f in $files; do
  plain=$((plain + $(curl -sk -o /dev/null -w '%{size_download}' "$u$f")))
  gz=$((gz + $(curl -sk -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' "$u$f")))
  n=$((n + 1))
done
echo "first visit: $n files, $((plain / 1024)) KiB plain, $((gz / 1024)) KiB with gzip"
echo "== the page (/), wrk -t2 -c32 -d$dur"
wrk -t2 -c32 -d"$dur" --latency "$u/" | grep -E 'Requests/sec|50%|99%'
echo "== bootstrap-italia.min.css with gzip, wrk -t2 -c32 -d$dur"
wrk -t2 -c32 -d"$dur" --latency -H 'Accept-Encoding: gzip' "$u/ui/vendor/bootstrap-italia.min.css" |
  grep -E 'Requests/sec|Transfer/sec|50%|99%'
