# WARNING: generated from tests/_async/test_sentinel.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""The checkpointers behind Sentinel: a primary, a replica, three sentinels.

A workload runs while the primary changes (``SENTINEL FAILOVER`` and SIGKILL); no
acknowledged write may be lost. Reports land in ``.cache/reliability/``. The sync twin
(``tests/_sync/test_sentinel.py``) is generated from this file.
"""

from __future__ import annotations

from collections.abc import Iterator, Iterator

import pytest

from langgraph_redis import RedisSaver
from langgraph_redis._acompat import Sentinel, release_client
from tests._sync.test_saver import _interrupt_story, config, snapshot
from tests._sync.workload import Workload
from tests.connections import named_connections, unique_name, wait_no_connections
from tests.servers import SentinelGroup, require_engine, start_sentinel_group

pytestmark = [pytest.mark.sentinel, pytest.mark.faults]

RECOVERY = 15.0  # seconds a call may keep retrying (down-after 2 s + election)


@pytest.fixture(params=["valkey"])
def group(request: pytest.FixtureRequest) -> Iterator[SentinelGroup]:
    """A fresh group per test: failovers change who is primary."""
    with start_sentinel_group(require_engine(request.param), down_after_ms=1000) as started:
        yield started


@pytest.fixture
def saver(group: SentinelGroup, key_prefix: str) -> Iterator[RedisSaver]:
    with RedisSaver.from_conn_string(
        group.sentinel_url, prefix=key_prefix, recovery_timeout=RECOVERY
    ) as saver:
        saver.setup()
        yield saver


def _primary_port(group: SentinelGroup) -> int:
    with group.sentinels[0].client() as conn:
        return int(conn.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")[1])


def _failover(group: SentinelGroup) -> None:
    with group.sentinels[0].client() as conn:
        conn.execute_command("SENTINEL", "FAILOVER", group.master_name)


def test_sentinel_url_and_graph(saver: RedisSaver) -> None:
    assert len(_interrupt_story(saver)) == 7


def test_existing_sentinel_client(group: SentinelGroup, key_prefix: str) -> None:
    sentinel = Sentinel(group.sentinel_addresses)  # type: ignore[no-untyped-call]
    client = sentinel.master_for(group.master_name)  # type: ignore[no-untyped-call, unused-ignore]
    with RedisSaver(client, prefix=key_prefix) as saver:
        stored = saver.put(config("t"), snapshot({"a": 1}), {}, {"a": "1"})
        assert saver.get_tuple(stored) is not None
    assert client.ping()  # borrowed: still open
    release_client(client)  # the pool and the connections to the sentinels


def test_closing_closes_the_connections_to_the_sentinels_too(
    group: SentinelGroup, key_prefix: str
) -> None:
    name = unique_name("sentinel")
    sentinels = [s.url for s in group.sentinels]
    everyone = [n.url for n in group.nodes]
    with RedisSaver.from_conn_string(
        group.sentinel_url, prefix=key_prefix, client_name=name
    ) as saver:
        stored = saver.put(config("t"), snapshot({"a": 1}), {}, {"a": "1"})
        assert saver.get_tuple(stored) is not None
        assert named_connections([group.primary.url], name) > 0
        assert named_connections(sentinels, name) > 0
    assert wait_no_connections(everyone, name) == 0


def test_graceful_failover(saver: RedisSaver, group: SentinelGroup) -> None:
    before = _primary_port(group)
    work = Workload(saver)
    work.run(60, {10: ("SENTINEL FAILOVER mymaster", lambda: _failover(group))}, pause=0.05)
    lost = work.verify()
    assert _primary_port(group) != before, "no failover happened"
    data = work.report(f"sentinel-failover-{type(saver).__name__}", lost=lost)
    assert not lost, data
    assert work.errors == [], data


def test_primary_killed(saver: RedisSaver, group: SentinelGroup) -> None:
    before = _primary_port(group)
    killed = group.primary if group.primary.port == before else group.replica
    work = Workload(saver)
    work.run(40, {10: ("SIGKILL primary", killed.kill)}, pause=0.05)
    lost = work.verify()
    assert _primary_port(group) != before, "sentinels did not promote the replica"
    data = work.report(f"sentinel-sigkill-{type(saver).__name__}", lost=lost)
    # Asynchronous replication: a write acknowledged by the primary in the instant
    # before SIGKILL may not have reached the replica. Report it; with
    # wait_replicas=(1, ms) that window closes (see test_faults).
    assert len(lost) <= 2, data
    assert work.errors == [], data
