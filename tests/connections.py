"""Counting a client's connections on the server (``CLIENT LIST``), for leak tests.

Tests name the connections of the object under test (``client_name=``) and count the
entries of that name on every server involved. A closed socket leaves ``CLIENT LIST``
when the server's event loop next runs, so "none left" is polled, with a deadline that
only a real leak reaches.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

import redis


def unique_name(tag: str) -> str:
    """A client name no other test uses (names may not contain spaces)."""
    return f"lgr-{tag}-{uuid.uuid4().hex[:8]}"


def named_connections(urls: Iterable[str], name: str, **options: object) -> int:
    """How many connections named ``name`` the servers at ``urls`` hold."""
    total = 0
    for url in urls:
        with redis.Redis.from_url(url, **options) as admin:
            total += sum(1 for c in admin.client_list() if c.get("name") == name)
    return total


def wait_no_connections(urls: Iterable[str], name: str, deadline_s: float = 5.0) -> int:
    """Poll until no connection named ``name`` is left; return how many remain."""
    urls = list(urls)
    end = time.monotonic() + deadline_s
    while (left := named_connections(urls, name)) and time.monotonic() < end:
        time.sleep(0.02)
    return left
