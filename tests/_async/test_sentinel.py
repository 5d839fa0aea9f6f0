"""The checkpointers behind Sentinel: a primary, a replica, three sentinels.

A workload runs while the primary changes (``SENTINEL FAILOVER`` and SIGKILL); no
acknowledged write may be lost. Reports land in ``.cache/reliability/``. The sync twin
(``tests/_sync/test_sentinel.py``) is generated from this file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from langgraph_redis import AsyncRedisSaver
from langgraph_redis._acompat import AsyncSentinel, arelease_client
from tests._async.test_saver import _interrupt_story, config, snapshot
from tests._async.workload import Workload
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
async def asaver(group: SentinelGroup, key_prefix: str) -> AsyncIterator[AsyncRedisSaver]:
    async with AsyncRedisSaver.from_conn_string(
        group.sentinel_url, prefix=key_prefix, recovery_timeout=RECOVERY
    ) as saver:
        await saver.asetup()
        yield saver


def _primary_port(group: SentinelGroup) -> int:
    with group.sentinels[0].client() as conn:
        return int(conn.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")[1])


def _failover(group: SentinelGroup) -> None:
    with group.sentinels[0].client() as conn:
        conn.execute_command("SENTINEL", "FAILOVER", group.master_name)


async def test_sentinel_url_and_graph(asaver: AsyncRedisSaver) -> None:
    assert len(await _interrupt_story(asaver)) == 7


async def test_existing_sentinel_client(group: SentinelGroup, key_prefix: str) -> None:
    sentinel = AsyncSentinel(group.sentinel_addresses)  # type: ignore[no-untyped-call]
    client = sentinel.master_for(group.master_name)  # type: ignore[no-untyped-call, unused-ignore]
    async with AsyncRedisSaver(client, prefix=key_prefix) as saver:
        stored = await saver.aput(config("t"), snapshot({"a": 1}), {}, {"a": "1"})
        assert await saver.aget_tuple(stored) is not None
    assert await client.ping()  # borrowed: still open
    await arelease_client(client)  # the pool and the connections to the sentinels


async def test_closing_closes_the_connections_to_the_sentinels_too(
    group: SentinelGroup, key_prefix: str
) -> None:
    name = unique_name("sentinel")
    sentinels = [s.url for s in group.sentinels]
    everyone = [n.url for n in group.nodes]
    async with AsyncRedisSaver.from_conn_string(
        group.sentinel_url, prefix=key_prefix, client_name=name
    ) as saver:
        stored = await saver.aput(config("t"), snapshot({"a": 1}), {}, {"a": "1"})
        assert await saver.aget_tuple(stored) is not None
        assert named_connections([group.primary.url], name) > 0
        assert named_connections(sentinels, name) > 0
    assert wait_no_connections(everyone, name) == 0


async def test_graceful_failover(asaver: AsyncRedisSaver, group: SentinelGroup) -> None:
    before = _primary_port(group)
    work = Workload(asaver)
    await work.run(60, {10: ("SENTINEL FAILOVER mymaster", lambda: _failover(group))}, pause=0.05)
    lost = await work.verify()
    assert _primary_port(group) != before, "no failover happened"
    data = work.report(f"sentinel-failover-{type(asaver).__name__}", lost=lost)
    assert not lost, data
    assert work.errors == [], data


async def test_primary_killed(asaver: AsyncRedisSaver, group: SentinelGroup) -> None:
    before = _primary_port(group)
    killed = group.primary if group.primary.port == before else group.replica
    work = Workload(asaver)
    await work.run(40, {10: ("SIGKILL primary", killed.kill)}, pause=0.05)
    lost = await work.verify()
    assert _primary_port(group) != before, "sentinels did not promote the replica"
    data = work.report(f"sentinel-sigkill-{type(asaver).__name__}", lost=lost)
    # Asynchronous replication: a write acknowledged by the primary in the instant
    # before SIGKILL may not have reached the replica. Report it; with
    # wait_replicas=(1, ms) that window closes (see test_faults).
    assert len(lost) <= 2, data
    assert work.errors == [], data
