"""Fixtures shared by the server tests of this tree (the sync twin is generated).

A test module may define a fixture of the same name to change it (e.g. a cluster client).
"""

from __future__ import annotations

import pytest

from langgraph_redis import AsyncRedisSaver, AsyncShallowRedisSaver
from langgraph_redis._acompat import AsyncIterator, AsyncRedis


@pytest.fixture
async def asaver(redis_url: str, key_prefix: str) -> AsyncIterator[AsyncRedisSaver]:
    """A set-up saver under the test's own prefix, on each engine's server."""
    async with AsyncRedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        await saver.asetup()
        yield saver


@pytest.fixture
async def ashallow(redis_url: str, key_prefix: str) -> AsyncIterator[AsyncShallowRedisSaver]:
    """A set-up shallow saver under the test's own prefix."""
    async with AsyncShallowRedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        await saver.asetup()
        yield saver


@pytest.fixture
async def aclient(redis_url: str) -> AsyncIterator[AsyncRedis]:
    """A raw client of the same server, to look at or damage what the library wrote."""
    client = AsyncRedis.from_url(redis_url)
    yield client
    await client.aclose()
