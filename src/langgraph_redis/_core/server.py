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
from urllib.parse import parse_qs, unquote, urlsplit

from langgraph_redis._core.plans import Batch, batch

logger = logging.getLogger("langgraph_redis")


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


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _parse_info(raw: Any) -> dict[str, str]:
    if isinstance(raw, dict):
        return {str(k): _text(v) for k, v in raw.items()}
    out: dict[str, str] = {}
    for line in _text(raw).splitlines():
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
    return {_text(k): _text(v) for k, v in items if not isinstance(v, (list, dict))}


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
            "langgraph_redis: INFO is not permitted for this user; %s",
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


@dataclass(frozen=True)
class SentinelTarget:
    """A ``redis+sentinel://h1:p1,h2:p2/service[/db]`` URL, split into its parts."""

    hosts: tuple[tuple[str, int], ...]
    service: str
    db: int
    username: str | None
    password: str | None
    ssl: bool
    options: dict[str, str]


def parse_sentinel_url(url: str) -> SentinelTarget:
    """Parse a Sentinel URL; raise ``ValueError`` saying what is missing."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis+sentinel", "rediss+sentinel"):
        raise ValueError(f"not a sentinel URL: scheme {parts.scheme!r}")
    netloc = parts.netloc
    username = password = None
    if "@" in netloc:
        creds, netloc = netloc.rsplit("@", 1)
        user, _, pwd = creds.partition(":")
        username, password = (unquote(user) or None), (unquote(pwd) or None)
    hosts: list[tuple[str, int]] = []
    for item in filter(None, netloc.split(",")):
        host, _, port = item.rpartition(":")
        if not host:
            host, port = port, "26379"
        hosts.append((host.strip("[]"), int(port or 26379)))
    path = [p for p in parts.path.split("/") if p]
    if not hosts or not path:
        raise ValueError(
            "sentinel URL needs at least one host and a service name: "
            "redis+sentinel://host:26379[,host2:26379]/service_name[/db]"
        )
    return SentinelTarget(
        hosts=tuple(hosts),
        service=unquote(path[0]),
        db=int(path[1]) if len(path) > 1 else 0,
        username=username,
        password=password,
        ssl=parts.scheme.startswith("rediss"),
        options={k: v[-1] for k, v in parse_qs(parts.query).items()},
    )
