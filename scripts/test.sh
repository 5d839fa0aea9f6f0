#!/usr/bin/env bash
# The project's test command (README, CI): set up, then every check and the full suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
# Every check and the suite: the list lives in noxfile.py only (pre-commit: nox -t checks).
# The checks run first, then the tests; arguments go to pytest.
nox -t checks
nox -s tests -- "$@"

# --- Lowest versions (issue 11) ------------------------------------------------------------
# The suite again, in a second venv where every runtime dependency is pinned at the floor
# pyproject.toml declares (scripts/min_constraints.py). A floor that stops passing fails
# here, not for a user. MIN_PYTHON picks the interpreter (default python3).
# SKIP_MIN_VERSIONS=1 skips this section (e.g. a quick local run).
if [ "${SKIP_MIN_VERSIONS:-0}" != "1" ]; then
  min_python="${MIN_PYTHON:-python3}"
  mkdir -p .cache
  python scripts/min_constraints.py -o .cache/min-constraints.txt
  echo "test.sh: lowest-versions run ($("$min_python" --version)): $(tr '\n' ' ' < .cache/min-constraints.txt)"
  want="$("$min_python" -c 'import sys; print(sys.version)')"
  if [ "$(.venv-min/bin/python -c 'import sys; print(sys.version)' 2>/dev/null)" != "$want" ]; then
    rm -rf .venv-min
    "$min_python" -m venv .venv-min
  fi
  .venv-min/bin/python -m pip install -q --upgrade pip
  .venv-min/bin/python -m pip install -q -c .cache/min-constraints.txt -e ".[test,bench,embedded]"
  python scripts/min_constraints.py --verify .venv-min/bin/python
  .venv-min/bin/python -m pip check
  # The floors are the client libraries' (redis-py, LangGraph, numpy): one plain server,
  # the query engine and their clusters exercise every code path of the client at a
  # fraction of the time of all four engines.
  # At these floors an event loop (and its self-pipe sockets) is left unclosed for the
  # garbage collector during the sync cluster conformance test; current releases do not
  # do it and it is not traced to its source yet. Only that warning is ignored here; the
  # main run above ignores nothing, so a connection leak of ours still fails it.
  LANGGRAPH_REDIS_ENGINES="${MIN_ENGINES:-valkey,stack}" .venv-min/bin/python -m pytest -q -p no:cacheprovider \
    -W "ignore:unclosed event loop:ResourceWarning" \
    -W "ignore:unclosed <socket.socket fd=:ResourceWarning" "$@"
fi

# --- The built package (issue 11) ----------------------------------------------------------
# Build the sdist and wheel users would get from the index, check them (twine; only the
# library in the wheel; LICENSE in both), then install THE WHEEL (not this tree) into a
# fresh venv and run the CLI, the demo and a conformance smoke from it.
# SKIP_WHEEL=1 skips this section.
if [ "${SKIP_WHEEL:-0}" != "1" ]; then
  rm -rf dist .venv-wheel
  python -m build --outdir dist . > .cache/build.log 2>&1 || { cat .cache/build.log; exit 1; }
  twine check --strict dist/*
  python scripts/check_dist.py dist
  python3 -m venv .venv-wheel
  .venv-wheel/bin/python -m pip install -q --upgrade pip
  wheel_file="$(ls dist/*.whl)"
  .venv-wheel/bin/python -m pip install -q "langgraph-redis[embedded] @ file://$PWD/$wheel_file" langgraph-checkpoint-conformance
  (
    outside="$(mktemp -d)"
    trap 'rm -rf "$outside"' EXIT
    cd "$outside"  # nothing from the source tree is importable from here
    "$OLDPWD/.venv-wheel/bin/langgraph-redis" --version
    "$OLDPWD/.venv-wheel/bin/python" -m langgraph_redis --version
    env -u REDIS_URL "$OLDPWD/.venv-wheel/bin/python" -m langgraph_redis demo < /dev/null > "$OLDPWD/.cache/wheel-demo.log" 2>&1 \
      || { cat "$OLDPWD/.cache/wheel-demo.log"; exit 1; }
    echo "test.sh: demo from the wheel ran ($(wc -l < "$OLDPWD/.cache/wheel-demo.log") lines, .cache/wheel-demo.log)"
    "$OLDPWD/.venv-wheel/bin/python" "$OLDPWD/scripts/wheel_smoke.py"
  )
fi
