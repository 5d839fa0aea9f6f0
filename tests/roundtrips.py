"""Counts network round trips by wrapping redis-py's packet send (no mock: I/O happens).

redis-py writes a whole pipeline with one ``send_packed_command`` call and then reads
the replies, so one call is one round trip.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis.asyncio.connection
import redis.connection


@dataclass
class Count:
    value: int = 0
    sent: list[bytes] = field(default_factory=list)
    """The bytes of every send (RESP), to tell which commands went out."""

    def scripts(self) -> int:
        """How many EVAL/EVALSHA commands were sent."""
        return sum(s.count(b"\r\nEVALSHA\r\n") + s.count(b"\r\nEVAL\r\n") for s in self.sent)


class RoundTrips:
    """``with roundtrips as count: ...`` then ``count.value`` is the number of sends."""

    def __init__(self) -> None:
        self.active: Count | None = None

    def __enter__(self) -> Count:
        self.active = Count()
        return self.active

    def __exit__(self, *exc: object) -> None:
        self.active = None

    def record(self, packed: Any = b"") -> None:
        if self.active is not None:
            self.active.value += 1
            chunks = [packed] if isinstance(packed, (bytes, memoryview)) else list(packed)
            self.active.sent.append(b"".join(bytes(c) for c in chunks))


@pytest.fixture
def roundtrips(monkeypatch: pytest.MonkeyPatch) -> Iterator[RoundTrips]:
    counter = RoundTrips()
    for cls in (redis.asyncio.connection.AbstractConnection, redis.connection.AbstractConnection):
        original = cls.send_packed_command

        if cls is redis.asyncio.connection.AbstractConnection:

            @functools.wraps(original)
            async def async_send(self: Any, *args: Any, _o: Any = original, **kwargs: Any) -> Any:
                counter.record(args[0] if args else kwargs.get("command", b""))
                return await _o(self, *args, **kwargs)

            monkeypatch.setattr(cls, "send_packed_command", async_send)
        else:

            @functools.wraps(original)
            def sync_send(self: Any, *args: Any, _o: Any = original, **kwargs: Any) -> Any:
                counter.record(args[0] if args else kwargs.get("command", b""))
                return _o(self, *args, **kwargs)

            monkeypatch.setattr(cls, "send_packed_command", sync_send)
    yield counter
