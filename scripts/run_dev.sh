#!/usr/bin/env bash
# `make run`: the web server and the scheduler side by side, on the development settings.
# Ctrl-C (or the end of the server) stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export FLASK_APP=consent_service CONSENT_ENV="${CONSENT_ENV:-development}"
"$BIN/flask" scheduler run &
scheduler=$!
trap 'kill "$scheduler" 2>/dev/null || true' EXIT INT TERM
"$BIN/flask" run --host 127.0.0.1 --port 5000
