# WARNING: generated from tests/_async/clock.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""TTL time moved by the test instead of waited for, so TTL tests do not race the clock.

Expiry runs on two clocks: the server's (key TTLs) and the client's (the store keeps
expiry times in sorted sets and compares them with its own ``time.time()``). A test
that sleeps through a short TTL fails whenever the machine is slow enough for a key
that must still live to expire first. :class:`TtlClock` moves both clocks by exactly
the amount the test names: every key under a pattern loses that much of its TTL (a key
whose TTL runs out is removed at once, as its expiry would), and the store's clock runs
that far ahead of the wall clock. TTLs in tests are then minutes long, so the real time
a test takes (milliseconds to seconds) never decides an outcome.

The sync twin (``tests/_sync/clock.py``) is generated from this file.
"""

from __future__ import annotations

import time
from typing import Any

from langgraph_redis import RedisStore
from langgraph_redis._acompat import Redis, RedisCluster


def age_keys(client: Redis | RedisCluster, pattern: str, seconds: float) -> int:
    """Take ``seconds`` off the TTL of every key matching ``pattern``.

    Keys without a TTL are left alone; a key with less TTL left than that is removed
    (``PEXPIREAT`` in the past deletes at once, where ``PEXPIRE 1`` would leave it
    readable for another millisecond). Returns how many keys were removed.
    """
    ms = int(seconds * 1000)
    keys = [key for key in client.scan_iter(match=pattern, count=1000)]
    if not keys:
        return 0
    pipe: Any = client.pipeline(transaction=False)
    for key in keys:
        pipe.pttl(key)
    left = pipe.execute()
    pipe = client.pipeline(transaction=False)
    removed = 0
    for key, remaining in zip(keys, left, strict=True):
        if remaining < 0:  # -1: no TTL; -2: gone meanwhile
            continue
        if remaining <= ms:
            pipe.pexpireat(key, 1)
            removed += 1
        else:
            pipe.pexpire(key, remaining - ms)
    pipe.execute()
    return removed


class TtlClock:
    """The time both the server's TTLs and a store's expiry scores see.

    Args:
        client: A client on the same server (or cluster) as the object under test.
        pattern: The keys to age, e.g. ``f"{key_prefix}:*"``.
    """

    def __init__(self, client: Redis | RedisCluster, pattern: str) -> None:
        self.client = client
        self.pattern = pattern
        self.offset = 0.0

    def time(self) -> float:
        """Wall-clock seconds plus every :meth:`advance` so far (a store's ``_clock``)."""
        return time.time() + self.offset

    def advance(self, seconds: float) -> int:
        """Let ``seconds`` pass for the keys and the store; returns keys removed."""
        removed = age_keys(self.client, self.pattern, seconds)
        self.offset += seconds
        return removed


def ttl_clock(
    store: RedisStore, client: Redis | RedisCluster | None = None
) -> TtlClock:
    """A clock for ``store``'s keys, installed as the store's clock.

    Args:
        store: The store under test.
        client: Who ages the keys; the store's own client unless it lacks the rights
            (an ACL user restricted to data commands).
    """
    clock = TtlClock(client if client is not None else store.client, f"{store._prefix}:*")
    store._clock = clock.time
    return clock
