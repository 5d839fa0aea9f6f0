"""Connection URLs the client library does not parse itself: Sentinel URLs.

redis-py takes ``redis://`` and ``rediss://`` URLs but has no Sentinel URL; this splits
``redis+sentinel://h1:p1,h2:p2/service[/db]`` into what the shell needs to ask the
Sentinels for the master, and says what is missing when the URL is incomplete.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit


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
