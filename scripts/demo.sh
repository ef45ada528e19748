#!/usr/bin/env bash
# Installs what is needed, builds, creates a demo database with a synthetic
# population of three municipalities of the province of Modena and a week of
# daily deltas, and imports it.  Everything lands in var/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
V=build/visura
out=var/demo
persons=${DEMO_PERSONS:-60000}
days=${DEMO_DAYS:-7}
rm -rf "$out"
mkdir -p "$out/feed"
start=$(date -u -d "-$((days + 1)) days" +%F)
echo "== generating $persons persons (Modena, Carpi, Sassuolo), snapshot $start + $days daily deltas"
$V gen --persons "$persons" --comune 036023,036005,036040 --seed 42 --days "$days" \
  --date "$start" --out "$out/feed"
$V init --db "$out/visura.db"
echo "== importing"
$V import --db "$out/visura.db" "$out"/feed/*-FULL.tsv
$V import --db "$out/visura.db" --quiet "$out"/feed/*-DELTA.tsv
echo "== the register now"
$V query --db "$out/visura.db" counts
echo
echo "demo database: $out/visura.db   (try: $V query --db $out/visura.db counts --help)"
