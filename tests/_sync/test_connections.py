# WARNING: generated from tests/_async/test_connections.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""Connections: every object closes what it opened (and only that).

The sync twin (``tests/_sync/test_connections.py``) is generated from this file.
Connections are counted on the server (``CLIENT LIST``) by client name.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator

import pytest

from langgraph_redis import (
    RedisCache,
    RedisSaver,
    RedisStore,
    ShallowRedisSaver,
    PoolTimeout,
    RecoveryTimeout,
    ServerUnreachable,
)
from langgraph_redis._acompat import (
    BlockingConnectionPool,
    Redis,
    RedisCluster,
    release_client,
)
from tests._sync.test_saver import config, snapshot
from tests.connections import named_connections, unique_name, wait_no_connections
from tests.servers import LocalCluster, LocalServer, require_engine, start_server, start_tls_server
from tests.tls import write_tls_files

Owner = RedisSaver | ShallowRedisSaver | RedisStore | RedisCache
KINDS: dict[str, Callable[..., Owner]] = {
    "cache": RedisCache,
    "saver": RedisSaver,
    "shallow": ShallowRedisSaver,
    "store": RedisStore,
}


def _busy(obj: Owner) -> None:
    """A few concurrent calls, so the pool opens more than one connection."""

    def one(i: int) -> None:
        if isinstance(obj, RedisCache):
            key = (("conn",), str(i))
            obj.set({key: (i, None)})
            assert obj.get([key]) == {key: i}
        elif isinstance(obj, RedisStore):
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


def _used_in_with_block(
    url: str, nodes: list[str], prefix: str, kind: str
) -> tuple[Owner, str]:
    """An object of ``kind`` opened by ``from_conn_string`` and used, and the client name
    it used; once the block has ended, none of its connections is left on ``nodes``."""
    name = unique_name(kind)
    with KINDS[kind].from_conn_string(  # type: ignore[attr-defined]
        url, prefix=prefix, client_name=name
    ) as obj:
        _busy(obj)
        assert named_connections(nodes, name) > 0
    assert wait_no_connections(nodes, name) == 0
    return obj, name


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_from_conn_string_exit_closes_every_connection(
    redis_url: str, key_prefix: str, kind: str
) -> None:
    _used_in_with_block(redis_url, [redis_url], key_prefix, kind)


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


@pytest.mark.cluster
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_cluster_aclose_closes_every_connection(
    cluster: LocalCluster, key_prefix: str, kind: str
) -> None:
    """Includes the standalone client the probe replaced by a cluster client."""
    obj, name = _used_in_with_block(cluster.url, cluster.urls, key_prefix, kind)
    _busy(obj)  # reconnects
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


# --------------------------------------------------------------------------- first contact


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("kind", ["saver", "store"])
def test_closed_port_fails_fast_naming_host_and_port(kind: str) -> None:
    """Never reached: ServerUnreachable after the short first-contact grace, not the
    recovery loop (which only ends in RecoveryTimeout, after recovery_timeout)."""
    port = _closed_port()
    obj = KINDS[kind](f"redis://127.0.0.1:{port}")
    try:
        with pytest.raises(ServerUnreachable, match=rf"127\.0\.0\.1:{port}.*refused") as info:
            obj.setup()
        assert not isinstance(info.value, RecoveryTimeout)
        assert "check that the server is running" in str(info.value)
    finally:
        obj.close()


@pytest.fixture(scope="module")
def own_server() -> Iterator[LocalServer]:
    require_engine("redis7")
    with start_server("redis7") as server:
        yield server


def test_a_server_that_was_reachable_gets_the_recovery_window() -> None:
    """The difference documented in docs/reliability.md: once a server answered, a
    failure is an outage to ride out (recovery_timeout), not a configuration error."""
    require_engine("valkey")
    with start_server("valkey") as server:
        saver = RedisSaver(server.url, recovery_timeout=0.3)
        try:
            saver.setup()
            server.kill()
            with pytest.raises(RecoveryTimeout, match=r"recovery_timeout=0\.3s"):
                saver.get_tuple(config("t"))
        finally:
            saver.close()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return write_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_server(tls_files: dict[str, str]) -> Iterator[LocalServer]:
    require_engine("redis7")
    with start_tls_server(
        "redis7", cert_file=tls_files["cert"], key_file=tls_files["key"], ca_file=tls_files["ca"]
    ) as server:
        yield server


def test_plain_url_on_a_tls_port_names_tls(tls_server: LocalServer) -> None:
    plain = tls_server.url.replace("rediss://", "redis://")
    saver = RedisSaver(plain)
    try:
        with pytest.raises(ServerUnreachable, match=r"if the port serves TLS, use a rediss://"):
            saver.setup()
    finally:
        saver.close()


def test_tls_url_on_a_plain_port_names_tls(
    own_server: LocalServer, tls_files: dict[str, str]
) -> None:
    """Within one socket_connect_timeout (5 s by default), not four plus recovery."""
    url = own_server.url.replace("redis://", "rediss://")
    saver = RedisSaver(url, ssl_ca_certs=tls_files["ca"])
    try:
        with pytest.raises(ServerUnreachable, match=r"no TLS handshake .* within 5s") as info:
            saver.setup()
        assert "1 attempts" in str(info.value)
    finally:
        saver.close()


def test_tls_url_on_a_tls_port_still_connects(
    tls_server: LocalServer, tls_files: dict[str, str]
) -> None:
    saver = RedisSaver(tls_server.url, ssl_ca_certs=tls_files["ca"])
    try:
        saver.setup()
        assert saver.get_tuple(config("t")) is None
    finally:
        saver.close()
