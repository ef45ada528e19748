#!/usr/bin/env bash
# Assembles the browser interface into web/dist: the project's own files
# (web/src, with the boundaries of web/src/geo) and the parts of the npm
# packages it uses (Bootstrap Italia, Chart.js, d3-geo with d3-array,
# topojson-client), pinned by web/package-lock.json.  `visura serve` reads web/dist
# at start (option ui_dir).
set -euo pipefail
cd "$(dirname "$0")/../web"
if [ ! -d node_modules/bootstrap-italia ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
bi=node_modules/bootstrap-italia/dist
rm -rf dist.new
mkdir -p dist.new/vendor/fonts
cp -r src/. dist.new/
# The guides in Italian, shown by the help page (#/aiuto) as text drawn
# with the DOM (web/src/app/screens/help.js), never as HTML.
mkdir -p dist.new/guide
cp ../docs/it/*.md dist.new/guide/
# Bootstrap Italia's own script is left out: it injects <style> elements,
# which the Content-Security-Policy (style-src 'self') refuses; the
# interface uses the library's markup and CSS and needs none of its widgets.
cp "$bi/css/bootstrap-italia.min.css" \
   "$bi/svg/sprites.svg" node_modules/chart.js/dist/chart.umd.min.js dist.new/vendor/
# The map of the statistics screen: projections and paths (d3-geo, which
# needs d3-array) and TopoJSON decoding, as classic scripts (window.d3,
# window.topojson) like Chart.js.
cp node_modules/d3-array/dist/d3-array.min.js node_modules/d3-geo/dist/d3-geo.min.js \
   node_modules/topojson-client/dist/topojson-client.min.js dist.new/vendor/
for family in Titillium_Web Roboto_Mono Lora; do
  mkdir -p "dist.new/vendor/fonts/$family"
  cp "$bi/fonts/$family"/*.woff2 "dist.new/vendor/fonts/$family/"
done
# Licences travel with the code they cover.
cp node_modules/bootstrap-italia/LICENSE dist.new/vendor/LICENSE-bootstrap-italia.txt 2>/dev/null || true
cp node_modules/chart.js/LICENSE.md dist.new/vendor/LICENSE-chart.js.txt 2>/dev/null || true
for m in d3-array d3-geo topojson-client; do
  cp node_modules/$m/LICENSE dist.new/vendor/LICENSE-$m.txt 2>/dev/null || true
done
rm -rf dist
mv dist.new dist
