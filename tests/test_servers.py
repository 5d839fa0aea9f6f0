"""Real-process tests for the test-server package :mod:`tests.servers`.

These start actual servers: the rest of the suite relies on these helpers,
so a broken helper must show up here, close to its cause.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster
from redis.sentinel import Sentinel

from tests import servers as _servers
from tests.servers import (
    ENV_ENGINE,
    ServerNotAvailable,
    engines_for_run,
    require_engine,
    start_server,
    unavailable,
)

ALL = list(_servers.ENGINES)
PLAIN = ["valkey", "redis7"]


@pytest.mark.parametrize("engine", ALL)
def test_engine_starts_and_pings(engine: str) -> None:
    local = require_engine(engine)
    with start_server(local) as server:
        assert server.url == f"redis://127.0.0.1:{server.port}"
        assert server.engine == engine
        assert server.pid > 0
        with redis.Redis.from_url(server.url) as client:
            assert client.ping() is True
            # Defaults: disposable, loopback-only servers.
            assert client.config_get("appendonly")["appendonly"] == "no"
            assert client.config_get("save")["save"] == ""
        data_dir = Path(server.data_dir)
        assert data_dir.is_dir()
    assert not server.is_running()
    assert not data_dir.exists(), "temp data dir must be removed by stop()"


def test_stack_has_search_and_json() -> None:
    local = require_engine("stack")
    with start_server(local) as server, server.client(decode_responses=True) as client:
        assert client.execute_command("FT._LIST") == []
        assert client.execute_command("JSON.SET", "doc", "$", '{"a": 1}') == "OK"
        assert client.execute_command("JSON.GET", "doc", "$.a") == "[1]"


@pytest.mark.parametrize("engine", PLAIN)
def test_plain_engines_have_no_search(engine: str) -> None:
    local = require_engine(engine)
    with (
        start_server(local) as server,
        server.client() as client,
        pytest.raises(redis.ResponseError, match=r"(?i)unknown command"),
    ):
        client.execute_command("FT._LIST")


def test_server_url_fixture_answers(redis_url: str) -> None:
    """The conftest path (REDIS_URL / Docker / local) yields a usable server."""
    with redis.Redis.from_url(redis_url) as client:
        assert client.ping() is True


@pytest.mark.parametrize("engine", ALL)
def test_kill_and_restart_keeps_aof(engine: str, tmp_path: Path) -> None:
    local = require_engine(engine)
    server = start_server(
        local,
        data_dir=str(tmp_path),
        extra_args=["--appendonly", "yes", "--appendfsync", "always"],
    )
    try:
        with server.client() as client:
            assert client.config_get("appendonly")["appendonly"] == "yes"
            client.set("survivor", "1")
        old_pid, port = server.pid, server.port
        server.kill()
        assert not server.is_running()
        server.restart()
        assert server.pid != old_pid
        assert server.port == port
        with server.client() as client:
            assert client.get("survivor") == b"1"
    finally:
        server.stop()
    assert tmp_path.exists(), "a caller-provided data dir is never deleted"


def test_stop_is_idempotent_and_restart_after_stop_fails() -> None:
    server = start_server(require_engine("valkey"))
    server.stop()
    server.stop()
    with pytest.raises(RuntimeError):
        server.restart()


def test_start_failure_reports_log_tail() -> None:
    local = require_engine("redis7")
    with pytest.raises(_servers.ServerStartError, match="no-such-directive"):
        start_server(local, extra_args=["--no-such-directive", "1"])


def test_missing_binary_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LANGGRAPH_REDIS_REDIS7_SERVER", str(tmp_path / "nope"))
    with pytest.raises(ServerNotAvailable, match="LANGGRAPH_REDIS_REDIS7_SERVER"):
        _servers.find_binary("redis7")
    monkeypatch.setenv("LANGGRAPH_REDIS_LIBSSL_DIR", str(tmp_path))
    with pytest.raises(ServerNotAvailable, match="libssl"):
        _servers.find_binary("stack")


def test_stack_binary_uses_libssl_dir() -> None:
    require_engine("stack")
    binary = _servers.find_binary("stack")
    assert binary.supports_modules
    assert any(arg.endswith("redisearch.so") for arg in binary.args)
    assert any(arg.endswith("rejson.so") for arg in binary.args)
    ld_path = binary.env.get("LD_LIBRARY_PATH", "")
    if ld_path:
        assert (Path(ld_path.split(":")[0]) / "libssl.so.1.1").exists()


def test_engines_for_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1")
    assert engines_for_run() == [ENV_ENGINE]
    monkeypatch.delenv("REDIS_URL")
    monkeypatch.delenv("LANGGRAPH_REDIS_ENGINES", raising=False)
    assert engines_for_run() == ["valkey", "redis7", "stack", "redis8"]
    monkeypatch.setenv("LANGGRAPH_REDIS_ENGINES", "redis8, valkey")
    assert engines_for_run() == ["redis8", "valkey"]
    monkeypatch.setenv("LANGGRAPH_REDIS_ENGINES", "valkey,redis9")
    with pytest.raises(ValueError, match="redis9"):
        engines_for_run()


def test_missing_engine_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(RuntimeError, match="CI=true"):
        unavailable("engine 'x' missing")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        unavailable("engine 'x' missing")


@pytest.mark.parametrize("engine", ["redis7", "stack"])
def test_tls_server(engine: str, tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    local = require_engine(engine)
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, cert_file, key_file = (tmp_path / n for n in ("ca.pem", "cert.pem", "key.pem"))
    ca.cert_pem.write_to_path(str(ca_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    with _servers.start_tls_server(
        local, cert_file=str(cert_file), key_file=str(key_file), ca_file=str(ca_file)
    ) as server:
        assert server.url.startswith("rediss://127.0.0.1:")
        with redis.Redis.from_url(server.url, ssl_ca_certs=str(ca_file)) as client:
            assert client.ping() is True


@pytest.mark.cluster
@pytest.mark.parametrize("engine", ALL)
def test_cluster_3_plus_3(engine: str) -> None:
    local = require_engine(engine)
    with _servers.start_cluster(local, masters=3, replicas_per_master=1) as cluster:
        assert len(cluster.nodes) == 6
        assert cluster.urls[0] == cluster.url
        for node in cluster.nodes:
            with node.client(decode_responses=True) as client:
                assert client.execute_command("CLUSTER", "INFO").count("cluster_state:ok") == 1
        # Write straight to the master that owns the key's slot (the others
        # answer MOVED) ...
        owner = None
        for master in cluster.masters:
            with master.client() as client:
                try:
                    client.set("some-key", "v")
                except redis.exceptions.MovedError:
                    continue
            owner = master
        assert owner is not None
        # ... and read it back through the cluster-aware client.
        rc = RedisCluster.from_url(cluster.url)
        try:
            assert rc.get("some-key") == b"v"
            assert len(rc.get_primaries()) == 3  # type: ignore[no-untyped-call]
            assert len(rc.get_replicas()) == 3  # type: ignore[no-untyped-call]
            for i in range(50):
                rc.set(f"k{i}", i)
            assert rc.get("k42") == b"42"
        finally:
            rc.close()


@pytest.mark.sentinel
@pytest.mark.parametrize("engine", ALL)
def test_sentinel_group(engine: str) -> None:
    local = require_engine(engine)
    with _servers.start_sentinel_group(local, sentinels=3) as group:
        assert group.master_name == "mymaster"
        ports = [p for _, p in group.sentinel_addresses]
        assert group.sentinel_url == (
            "redis+sentinel://" + ",".join(f"127.0.0.1:{p}" for p in ports) + "/mymaster"
        )
        sentinel = Sentinel(group.sentinel_addresses, socket_timeout=2)  # type: ignore[no-untyped-call]
        master_addr = sentinel.discover_master("mymaster")  # type: ignore[no-untyped-call]
        assert master_addr == ("127.0.0.1", group.primary.port)
        replicas = sentinel.discover_slaves("mymaster")  # type: ignore[no-untyped-call]
        assert replicas == [("127.0.0.1", group.replica.port)]
        master = sentinel.master_for("mymaster", socket_timeout=2)  # type: ignore[no-untyped-call]
        try:
            master.set("via-sentinel", "1")
            assert master.get("via-sentinel") == b"1"
        finally:
            master.close()
        for node in group.nodes:
            assert node.is_running()
    for node in group.nodes:
        assert not node.is_running()


def test_server_management_is_not_in_the_package() -> None:
    """Test servers live in tests/servers/, outside the wheel; the demo has its own launcher."""
    import importlib.util

    assert importlib.util.find_spec("langgraph_redis._servers") is None
    assert importlib.util.find_spec("langgraph_redis.demo.embedded") is not None
