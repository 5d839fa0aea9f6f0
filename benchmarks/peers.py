"""langgraph-checkpoint-redis, measured from its own virtualenv through a worker process.

It pins redisvl (and, release to release, other packages) differently from us, so it is
installed into ``.cache/bench-peers/venv`` on first use and never into our environment.
The worker (``peer_worker.py``) runs the same benchmark functions and prints JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from benchmarks.stats import Partner

ROOT = Path(__file__).resolve().parent.parent
PEER_DIR = ROOT / ".cache" / "bench-peers"
VENV = PEER_DIR / "venv"


def _ours(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:  # pragma: no cover - both are our dependencies
        return ""


# The anchor runs on the same redis-py and hiredis as ours and the lower bound, so the
# client library is not what the ratios measure. Its AsyncRedisStore cannot be built with
# redisvl 0.28 ("SearchIndex requires a sync Redis client"); 0.27.2 is the newest release
# that builds it, and it accepts redis-py 8.1 (0.15, 0.16, 0.20 and 0.24 refuse it).
PACKAGES = (
    "langgraph-checkpoint-redis==0.5.2",
    "redisvl==0.27.2",
    f"redis=={_ours('redis')}",
    f"hiredis=={_ours('hiredis')}",
    "langgraph",
    "numpy",
)


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _clean_env() -> dict[str, str]:
    # Our venv must not leak into the peer's interpreter (and vice versa).
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    }
    env["PYTHONPATH"] = str(ROOT)  # only to import the shared benchmark modules
    return env


def ensure_venv(notes: list[str]) -> Path | None:
    """The peer interpreter, creating the virtualenv on first run (None on failure)."""
    python = _venv_python()
    marker = PEER_DIR / "installed.txt"
    wanted = " ".join(PACKAGES) + "\n"
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    print(f"[peers] creating {VENV} and installing {', '.join(PACKAGES)} (first run only)")
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *PACKAGES,
            ],
            check=True,
            env=_clean_env(),
            timeout=600,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        notes.append(f"langgraph-checkpoint-redis skipped: could not build its venv ({exc})")
        return None
    marker.write_text(wanted)
    notes.append(
        f"peer venv created on this run ({time.perf_counter() - t0:.0f} s, first run only)"
    )
    return python


def run_worker(python: Path, request: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run ``peer_worker`` with ``request`` on stdin; its last stdout line is the JSON reply."""
    try:
        proc = subprocess.run(
            [str(python), "-m", "benchmarks.peer_worker"],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=_clean_env(),
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"rows": [], "notes": [f"peer worker timed out after {timeout:.0f} s"]}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        return {"rows": [], "notes": [f"peer worker failed (exit {proc.returncode}): {tail}"]}
    reply: dict[str, Any] = json.loads(lines[-1])
    return reply


class LockstepWorker(Partner):
    """``peer_worker`` measuring the peer's checkpointer in turn with ours.

    Started with ``"lockstep": true`` in its request, the worker runs the same
    measurements as this process and waits for a ``go`` before each of its slices (see
    ``peer_worker``). Should the worker fail or stop answering, it drops out: the
    remaining turns return at once and this process's own figures are kept.
    """

    def __init__(
        self,
        python: Path,
        request: dict[str, Any],
        timeout: float,
        module: str = "benchmarks.peer_worker",
    ) -> None:
        self._argv = [str(python), "-m", module]
        self._request = {**request, "lockstep": True}
        self._timeout = timeout
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish()
        self._lines: list[str] = []

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            *self._argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._stderr,
            cwd=ROOT,
            env=_clean_env(),
            limit=2**26,  # the reply is one JSON line of every row
        )
        await self._send(json.dumps(self._request))

    @property
    def _alive(self) -> bool:
        return self._proc is not None and self._proc.returncode is None and not self._lines

    async def _send(self, line: str) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(line.encode() + b"\n")
            await self._proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            self._lines.append("")

    async def _expect(self, word: str) -> None:
        """Read up to ``word``; a JSON line instead is the reply of a worker that is done."""
        assert self._proc is not None and self._proc.stdout is not None
        while self._alive:
            try:
                raw = await asyncio.wait_for(self._proc.stdout.readline(), self._timeout)
            except TimeoutError:
                self._proc.kill()
                self._lines.append("")
                return
            line = raw.decode().strip()
            if line == word:
                return
            if not raw or line.startswith("{"):
                self._lines.append(line)

    async def ready(self) -> None:
        await self._expect("ready")

    async def turn(self) -> None:
        if self._alive:
            await self._send("go")
            await self._expect("done")

    async def release(self) -> None:
        if self._alive:
            await self._send("end")

    async def finish(self) -> dict[str, Any]:
        """Wait for the worker's reply (after this process's last measurement)."""
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        if self._alive:
            proc.stdin.close()
            try:
                rest = await asyncio.wait_for(proc.stdout.read(), self._timeout)
            except TimeoutError:
                proc.kill()
                rest = b""
            self._lines += rest.decode().splitlines()
        code = await proc.wait()
        replies = [line for line in self._lines if line.startswith("{")]
        with self._stderr:
            if replies:
                reply: dict[str, Any] = json.loads(replies[-1])
                return reply
            self._stderr.seek(0)
            err = self._stderr.read().decode(errors="replace").strip().splitlines()
        tail = "\n".join(err[-5:])
        return {"rows": [], "notes": [f"peer worker failed in lockstep (exit {code}): {tail}"]}
