#!/usr/bin/env bash
# Installs the Debian packages visura needs to build, run and test.
# Safe to run again: installs only what is missing.
#   scripts/deps.sh [more Debian packages]
set -euo pipefail
PKGS=(build-essential cmake pkg-config clang libclang-rt-14-dev
      libsqlite3-dev sqlite3 libsodium-dev liboath-dev libcmocka-dev libglpk-dev coinor-libclp-dev python3
      libjansson-dev libjose-dev libssl-dev libmicrohttpd-dev libgnutls28-dev libcurl4-openssl-dev zlib1g-dev
      libpq-dev libqrencode-dev libcairo2-dev libpango1.0-dev poppler-utils
      postgresql testssl.sh python3-yaml python3-jsonschema
      debhelper lintian curl openssl logrotate systemd zbar-tools valgrind)
# libqrencode-dev: the QR code of the printed visura's receipt (src/common/qr.c).
# libcairo2-dev, libpango1.0-dev: the PDF of the monthly bulletin (cairo's PDF
# surface, text laid out by pango: src/bollettino/pdf.c); poppler-utils: the
# e2e suite reads that PDF back (pdftotext).
# zbar-tools: the browser suite decodes that QR from a screenshot (zbarimg).
# postgresql: the tests start their own throwaway server (scripts/pg.sh).
# testssl.sh: tests/e2e/test_tls.py scans the server's TLS with it.
# coinor-libclp-dev: the server audits strasa_cittadinanza_eta's protection
# by linear programming (src/stats/audit.c, COIN-OR CLP's simplex: a small
# hidden count pinned over non-negative counts gets more cells hidden; at
# run time coinor-libclp1, which it brings and the Debian package depends
# on through shlibs).
# libglpk-dev: test_stats, independently (another solver than the
# server's), audits every protected table (each hidden cell's interval);
# tests/e2e/lp_attack.py loads the same library (libglpk40, which it
# brings) through Python's ctypes for the e2e attacker.
# valgrind: memcheck.stats runs the statistics under memcheck (reads of
# memory never written, which AddressSanitizer does not see).
# python3-yaml: the API contract (docs/openapi.yaml) is built into the server;
# python3-jsonschema: the e2e suites check every answer against it.
# debhelper, lintian: the Debian package (debian/) is built and linted by
# tests/package/run.sh, which smoke-tests the installed server with curl
# and openssl, and checks its logrotate file and its units (systemd-analyze,
# from the systemd package, which a container image may not have).
# Extra packages named by the caller (scripts/test.sh adds chromium).
PKGS+=("$@")
missing=()
# The interface is assembled with npm (scripts/web.sh); a machine that has
# Node.js already (with its npm) keeps it, a fresh one gets Debian's.
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
