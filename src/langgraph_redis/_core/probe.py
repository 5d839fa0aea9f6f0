"""What a server can do, read from replies to commands any client may send.

Managed services deny ``MODULE LIST`` (Memorystore answers NOPERM), so capabilities are
found by trying the command we need (``FT._LIST``) and by reading ``INFO``; a denied or
unknown command simply means "not available". A least-privilege ACL user may be denied
``INFO`` too: ``HELLO`` (no arguments, so the protocol is unchanged) then gives the
product, version and mode; if both are denied the version is unknown and not checked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from langgraph_redis._core.plans import Batch, batch
from langgraph_redis._core.replies import text

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerInfo:
    """The facts the library branches on, probed once per client."""

    product: str  # "redis" or "valkey"
    version: tuple[int, ...]  # () when the server let us read neither INFO nor HELLO
    cluster: bool
    search: bool

    def describe(self) -> str:
        v = ".".join(map(str, self.version)) or "(version unknown)"
        mode = "cluster" if self.cluster else "standalone"
        engine = "query engine available" if self.search else "no query engine"
        return f"{self.product} {v}, {mode}, {engine}"


def _parse_info(raw: Any) -> dict[str, str]:
    if isinstance(raw, dict):
        return {str(k): text(v) for k, v in raw.items()}
    out: dict[str, str] = {}
    for line in text(raw).splitlines():
        if ":" in line and not line.startswith("#"):
            k, _, v = line.partition(":")
            out[k.strip()] = v.strip()
    return out


def _version(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for p in text.split("."):
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def _denied(reply: Any) -> bool:
    """A command the server refused (NOPERM, unknown command): the answer is "no".

    Connection failures never reach here as replies: the runner raises them.
    """
    return isinstance(reply, BaseException)


def _hello_fields(raw: Any) -> dict[str, str]:
    """HELLO's reply: a map under RESP3, a flat key/value list under RESP2."""
    if isinstance(raw, dict):
        items = list(raw.items())
    elif isinstance(raw, (list, tuple)):
        items = list(zip(raw[0::2], raw[1::2]))
    else:
        return {}
    return {text(k): text(v) for k, v in items if not isinstance(v, (list, dict))}


def decode_server_info(replies: list[Any]) -> ServerInfo:
    """Read ``INFO server``, ``INFO cluster``, the ``FT._LIST`` probe and ``HELLO``."""
    server, cluster, ft, *rest = replies
    hello = rest[0] if rest else None
    info = {} if _denied(server) else _parse_info(server)
    cinfo = {} if _denied(cluster) else _parse_info(cluster)
    if info:
        if "valkey_version" in info or info.get("server_name") == "valkey":
            product, ver = "valkey", info.get("valkey_version", info.get("redis_version", "0"))
        else:
            product, ver = "redis", info.get("redis_version", "0")
        version = _version(ver)
        in_cluster = cinfo.get("cluster_enabled") == "1"
    else:
        fields = {} if hello is None or _denied(hello) else _hello_fields(hello)
        product = "valkey" if fields.get("server") == "valkey" else "redis"
        version = _version(fields["version"]) if "version" in fields else ()
        in_cluster = cinfo.get("cluster_enabled") == "1" or fields.get("mode") == "cluster"
        logger.warning(
            "INFO is not permitted for this user; %s",
            "server facts read from HELLO"
            if version
            else "server version unknown (grant +info or +hello to check it)",
        )
    return ServerInfo(
        product=product,
        version=version,
        cluster=in_cluster,
        search=not _denied(ft),
    )


def plan_probe() -> Batch[ServerInfo]:
    """One round trip: INFO server, INFO cluster, FT._LIST and HELLO (errors are data)."""
    return batch(
        [("INFO", "server"), ("INFO", "cluster"), ("FT._LIST",), ("HELLO",)],
        decode_server_info,
    )


MIN_VERSIONS = {"redis": (6, 2), "valkey": (7, 2)}


def require_supported(info: ServerInfo) -> None:
    """Refuse servers older than the commands we use (ZRANGE BYLEX REV needs 6.2)."""
    floor = MIN_VERSIONS.get(info.product, (6, 2))
    if info.version and info.version[:2] < floor:
        raise RuntimeError(
            f"langgraph-redis needs {info.product} >= {'.'.join(map(str, floor))}; "
            f"the server reports {'.'.join(map(str, info.version))}"
        )


# -- first contact -----------------------------------------------------------------------

FIRST_CONTACT_TIMEOUT = 2.0
"""Seconds a new object keeps retrying a server it has never reached.

A closed port, a wrong host name or a TLS mismatch is a configuration error, not an
outage to ride out: it fails after this short grace (enough for a server that is just
starting) instead of the full ``recovery_timeout``, which is for servers that were
reachable and fail over, restart or reshard.
"""

_REFUSED = ("connection refused", "connect call failed", "error 111 ", "error 61 ")
_NO_NAME = ("name or service not known", "nodename nor servname", "name resolution")
_CLOSED = ("connection reset", "connection closed", "error while reading", "broken pipe")
_TLS_ON_PLAIN = ("wrong version number", "record layer failure", "packet length too long")


@dataclass(frozen=True)
class Unreachable:
    """Why a first connection failed: retry within the grace period, or say so now."""

    retry: bool
    message: str


def classify_first_contact(
    error: str, *, timed_out: bool, address: str, tls: bool, connect_timeout: float
) -> Unreachable:
    """Read a failed first connection (no redis-py retry) into advice for the user.

    Args:
        error: The error's text (redis-py's ``ConnectionError`` or ``TimeoutError``).
        timed_out: The connection or its handshake timed out.
        address: ``host:port`` (or the socket path) the client tried.
        tls: The client spoke TLS (``rediss://`` or ``ssl=True``).
        connect_timeout: The ``socket_connect_timeout`` in force, in seconds.
    """
    low = error.lower()
    if timed_out and tls:
        return Unreachable(
            False,
            f"no TLS handshake with {address} within {connect_timeout:g}s "
            "(socket_connect_timeout): the port probably serves plain Redis (without "
            "TLS) and waits for a command; use a redis:// URL for it, or check that the "
            "host, port and firewall let TLS through",
        )
    if timed_out:
        return Unreachable(
            False,
            f"no answer from {address} within {connect_timeout:g}s "
            "(socket_connect_timeout): check the host and port in the URL and that no "
            "firewall or security group drops the packets",
        )
    if tls and any(s in low for s in _TLS_ON_PLAIN):
        return Unreachable(
            False,
            f"TLS handshake with {address} failed ({error}): the port does not speak "
            "TLS; use a redis:// URL for a plain port",
        )
    if "ssl" in low or "certificate" in low:
        return Unreachable(
            False,
            f"TLS handshake with {address} failed ({error}): check ssl_ca_certs, "
            "ssl_certfile/ssl_keyfile and that the certificate names this host",
        )
    if not tls and any(s in low for s in _CLOSED):
        # Retried: a proxy or a flaky network can drop one connection too; a TLS port
        # closes every one of them.
        return Unreachable(
            True,
            f"{address} closed the connection during the handshake ({error}): if the "
            "port serves TLS, use a rediss:// URL (or ssl=True); otherwise check that "
            "a Redis server listens there",
        )
    if any(s in low for s in _REFUSED):
        return Unreachable(
            True,
            f"nothing accepts connections at {address} (connection refused): check that "
            "the server is running and that the URL's host and port are right",
        )
    if any(s in low for s in _NO_NAME):
        return Unreachable(
            True, f"cannot resolve the host of {address} ({error}): check the URL's host name"
        )
    return Unreachable(True, f"cannot connect to {address}: {error}")
