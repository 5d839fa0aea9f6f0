# WARNING: generated from tests/_async/conftest.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""Fixtures shared by the server tests of this tree (the sync twin is generated).

A test module may define a fixture of the same name to change it (e.g. a cluster client).
"""

from __future__ import annotations

import pytest

from langgraph_redis import RedisSaver, ShallowRedisSaver
from langgraph_redis._acompat import Iterator, Redis


@pytest.fixture
def saver(redis_url: str, key_prefix: str) -> Iterator[RedisSaver]:
    """A set-up saver under the test's own prefix, on each engine's server."""
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        saver.setup()
        yield saver


@pytest.fixture
def shallow(redis_url: str, key_prefix: str) -> Iterator[ShallowRedisSaver]:
    """A set-up shallow saver under the test's own prefix."""
    with ShallowRedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        saver.setup()
        yield saver


@pytest.fixture
def client(redis_url: str) -> Iterator[Redis]:
    """A raw client of the same server, to look at or damage what the library wrote."""
    client = Redis.from_url(redis_url)
    yield client
    client.close()
