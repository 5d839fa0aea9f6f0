# WARNING: generated from tests/_async/test_connections.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""Connections: every object closes what it opened (and only that).

The sync twin (``tests/_sync/test_connections.py``) is generated from this file.
Connections are counted on the server (``CLIENT LIST``) by client name.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from langgraph_redis import RedisSaver, RedisStore, ShallowRedisSaver
from langgraph_redis._acompat import (
    BlockingConnectionPool,
    Redis,
    RedisCluster,
    release_client,
)
from langgraph_redis._sync._run import PoolTimeout
from langgraph_redis._servers import LocalCluster
from tests._sync.test_saver import config, snapshot
from tests.connections import named_connections, unique_name, wait_no_connections
from tests.topology import CLUSTER_ENGINES, shared_cluster

Owner = RedisSaver | ShallowRedisSaver | RedisStore
KINDS: dict[str, Callable[..., Owner]] = {
    "saver": RedisSaver,
    "shallow": ShallowRedisSaver,
    "store": RedisStore,
}


def _busy(obj: Owner) -> None:
    """A few concurrent calls, so the pool opens more than one connection."""

    def one(i: int) -> None:
        if isinstance(obj, RedisStore):
            obj.put(("conn", str(i)), "k", {"i": i})
            assert obj.get(("conn", str(i)), "k") is not None
        else:
            tid = str(uuid.uuid4())
            obj.put(config(tid), snapshot({"i": i}), {}, {"i": "1"})
            assert obj.get_tuple(config(tid)) is not None

    [*map(one, range(4))]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_aclose_closes_every_connection_it_opened(
    redis_url: str, key_prefix: str, kind: str
) -> None:
    name = unique_name(kind)
    obj = KINDS[kind](redis_url, prefix=key_prefix, client_name=name)
    _busy(obj)
    assert named_connections([redis_url], name) > 0
    obj.close()
    assert wait_no_connections([redis_url], name) == 0
    # Still usable, as LangGraph's guides expect; the next close() closes again.
    _busy(obj)
    obj.close()
    assert wait_no_connections([redis_url], name) == 0


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_from_conn_string_exit_closes_every_connection(
    redis_url: str, key_prefix: str, kind: str
) -> None:
    name = unique_name(kind)
    with KINDS[kind].from_conn_string(  # type: ignore[attr-defined]
        redis_url, prefix=key_prefix, client_name=name
    ) as obj:
        _busy(obj)
        assert named_connections([redis_url], name) > 0
    assert wait_no_connections([redis_url], name) == 0


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_client_passed_in_stays_open(redis_url: str, key_prefix: str, kind: str) -> None:
    name = unique_name(kind)
    client = Redis.from_url(redis_url, client_name=name)
    try:
        obj = KINDS[kind](client, prefix=key_prefix)
        _busy(obj)
        obj.close()
        assert client.ping()
        assert named_connections([redis_url], name) > 0
    finally:
        client.close()
    assert wait_no_connections([redis_url], name) == 0


@pytest.fixture(params=CLUSTER_ENGINES)
def cluster(request: pytest.FixtureRequest) -> LocalCluster:
    return shared_cluster(request.param)


@pytest.mark.cluster
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_cluster_aclose_closes_every_connection(
    cluster: LocalCluster, key_prefix: str, kind: str
) -> None:
    """Includes the standalone client the probe replaced by a cluster client."""
    name = unique_name(kind)
    with KINDS[kind].from_conn_string(  # type: ignore[attr-defined]
        cluster.url, prefix=key_prefix, client_name=name
    ) as obj:
        _busy(obj)
        assert named_connections(cluster.urls, name) > 0
    assert wait_no_connections(cluster.urls, name) == 0
    _busy(obj)
    obj.close()
    assert wait_no_connections(cluster.urls, name) == 0


@pytest.mark.cluster
def test_cluster_client_passed_in_stays_open(cluster: LocalCluster, key_prefix: str) -> None:
    name = unique_name("cluster")
    client = RedisCluster.from_url(cluster.url, client_name=name)
    try:
        saver = RedisSaver(client, prefix=key_prefix)
        _busy(saver)
        saver.close()
        assert client.ping()
        assert named_connections(cluster.urls, name) > 0
    finally:
        # redis-py's sync RedisCluster.close() leaves its node pools open
        release_client(client)
    assert wait_no_connections(cluster.urls, name) == 0


def test_pool_timeout_names_the_pool_and_what_holds_it(
    redis_url: str, key_prefix: str
) -> None:
    with RedisSaver.from_conn_string(
        redis_url, prefix=key_prefix, pool_size=1, pool_timeout=0.2
    ) as saver:
        saver.setup()
        assert isinstance(saver.client, Redis)
        pool = saver.client.connection_pool
        # what a leaked PubSub or iterator does
        held = pool.get_connection()  # type: ignore[no-untyped-call, unused-ignore]
        try:
            with pytest.raises(PoolTimeout, match=r"pool_timeout=0.2s \(pool_size=1") as info:
                saver.get_tuple(config("t"))
            assert "held and never returned" in str(info.value)
        finally:
            pool.release(held)
        assert saver.get_tuple(config("t")) is None


def test_default_pool_wait_surfaces_a_leak_quickly(redis_url: str) -> None:
    """Waiting minutes for a connection looks like a hang; the default is seconds."""
    for kind in KINDS.values():
        obj = kind(redis_url)
        assert isinstance(obj.client, Redis)
        pool = obj.client.connection_pool
        assert isinstance(pool, BlockingConnectionPool)
        assert pool.timeout is not None and 10 <= pool.timeout <= 30
