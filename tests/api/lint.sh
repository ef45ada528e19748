#!/usr/bin/env bash
# Lints the API contract (docs/openapi.yaml) with Redocly's lint engine,
# pinned by tests/api/package-lock.json (installed here on first use).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules/@redocly/openapi-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
exec node lint.mjs ../../docs/openapi.yaml
