#!/usr/bin/env bash
# The project's test command (README, CI): set up, then every check and the full suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
python scripts/async_to_sync.py --check
ruff check $(ls -d src tests scripts benchmarks 2>/dev/null)
mypy --strict src tests benchmarks
python -m pytest -q -p no:cacheprovider "$@"
