#!/usr/bin/env bash
# Schemathesis against the API with many more examples than CI runs: no input may give a 5xx,
# and every answer must match the OpenAPI document. On SQLite, then on PostgreSQL when
# DATABASE_URL names it. Usage: scripts/fuzz_api.sh [examples per operation, default 1000]
set -euo pipefail
cd "$(dirname "$0")/.."
export SCHEMATHESIS_MAX_EXAMPLES="${1:-1000}"
echo "== schemathesis, ${SCHEMATHESIS_MAX_EXAMPLES} examples per operation, on ${DATABASE_URL:-SQLite}"
.venv/bin/pytest -q -p no:cacheprovider tests/api/test_schemathesis.py
