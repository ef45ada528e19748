#!/usr/bin/env bash
# Starts the reference peer of the benchmarks (bench/nginx-reference.conf):
# nginx serving one small static file over HTTPS on 127.0.0.1:PORT, with
# the certificate and key of TLS_DIR (cert.pem, key.pem), from DIR (made
# here; its pid in DIR/nginx.pid).  DIR's parent must be one nginx's
# workers (www-data) can enter: it is made world-readable.
#   bench/nginx-reference.sh DIR TLS_DIR PORT
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?DIR}; tls=${2:?TLS_DIR}; port=${3:?PORT}
mkdir -p "$dir/www" "$dir/tmp"
chmod 755 "$(dirname "$dir")" "$dir" "$dir/www"  # nginx workers run as www-data
cp "$tls/cert.pem" "$tls/key.pem" "$dir/"
printf '{"status":"ok","service":"reference","padding":"%0150d"}\n' 0 > "$dir/www/index.json"
sed -e "s#@DIR@#$dir#g" -e "s#@PORT@#$port#g" bench/nginx-reference.conf > "$dir/nginx.conf"
nginx -c "$dir/nginx.conf"
sleep 0.5
