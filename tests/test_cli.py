"""The command line as users run it: the installed script and ``python -m``, in subprocesses."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).parent / "langgraph-redis"
WAYS = {
    "script": ([str(SCRIPT)], "langgraph-redis"),
    "module": ([sys.executable, "-m", "langgraph_redis"], "python -m langgraph_redis"),
}


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("way", WAYS)
def test_version_is_the_installed_distributions(way: str) -> None:
    argv, _ = WAYS[way]
    done = run([*argv, "--version"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"langgraph-redis {version('langgraph-redis')}"


@pytest.mark.parametrize("way", WAYS)
def test_help_names_the_program_as_it_was_run(way: str) -> None:
    argv, prog = WAYS[way]
    done = run([*argv, "--help"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {prog} "), done.stdout
    assert "demo" in done.stdout and "--version" in done.stdout
    bad = run([*argv, "no-such-command"])
    assert bad.returncode == 2
    assert bad.stderr.startswith(f"usage: {prog} "), bad.stderr
