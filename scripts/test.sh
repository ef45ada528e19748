#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test: once with the normal
# build, once under AddressSanitizer + UndefinedBehaviorSanitizer (clang).
set -euo pipefail
cd "$(dirname "$0")/.."
# chromium: the browser tests (tests/browser) drive Debian's Chromium.
# python3-cryptography: the e2e suites' own keys and signatures (the
# SPID/CIE provider's and PDND's signed tokens, the backup's keys):
# test_spid, test_pdnd, test_anpr, test_citizen_mail, test_backup and the
# browser suite (its SPID/CIE provider).  A
# machine whose python3 has it from elsewhere (pip) hid its absence: on a
# fresh Debian 12 those suites failed to start (scripts/fresh-check.sh).
scripts/deps.sh chromium python3-cryptography
echo "== build (gcc, RelWithDebInfo)"
scripts/build.sh build
echo "== tests"
ctest --test-dir build --output-on-failure -j2
echo "== build (clang, ASan + UBSan)"
# -O1, as AddressSanitizer's own documentation advises: the same checks,
# at less cost than -O0: e2e.test_services 73-75 s -> 57-66 s (the gcc
# build: about 48 s).
CC=clang scripts/build.sh build-asan -DVISURA_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_FLAGS_DEBUG="-g -O1"
echo "== tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j2
