"""What one checkpoint put (and put_writes) costs the server on one server.

On one server the thread registry ``ZADD`` (with TTL, its ``ZREMRANGEBYSCORE``) and the
run index ``SADD``/``EXPIRE`` run inside the ``PUT`` script, which declares their keys,
so a put is one ``EVALSHA`` without ``MULTI``/``EXEC``; without TTL the registry
``ZADD`` runs only when the put creates the thread (issue 13). Counted with
``INFO commandstats`` on a server of each engine (deterministic: the commands a call
runs, never a timing).
"""

from __future__ import annotations

from typing import Any

import redis
from langgraph.checkpoint.base import Checkpoint, create_checkpoint, empty_checkpoint

from langgraph_redis import RedisSaver
from langgraph_redis._core.checkpoint import keys as ck

PUTS = 20


def _calls(client: Any) -> dict[str, int]:
    stats = client.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}


def _ran(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {
        k: after[k] - before.get(k, 0)
        for k in after
        if after[k] != before.get(k, 0) and k != "info"
    }


def _step(saver: RedisSaver, config: Any, ckpt: Checkpoint, i: int) -> tuple[Any, Checkpoint]:
    ckpt = create_checkpoint(ckpt, None, i)
    ckpt["channel_values"] = {"messages": f"value {i}"}
    ckpt["channel_versions"] = {"messages": str(i)}
    meta: Any = {"source": "loop", "step": i, "run_id": "run-1"}
    return saver.put(config, ckpt, meta, {"messages": str(i)}), ckpt


def _steady_puts(redis_url: str, key_prefix: str, ttl: dict[str, Any] | None) -> dict[str, int]:
    """The commands of PUTS puts to a thread that already has checkpoints."""
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix, ttl=ttl) as saver:
        config: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        ckpt = empty_checkpoint()
        config, ckpt = _step(saver, config, ckpt, 0)
        with redis.Redis.from_url(redis_url) as client:
            assert client.zscore(ck.thread_registry(key_prefix), "t") is not None
            before = _calls(client)
            for i in range(1, PUTS + 1):
                config, ckpt = _step(saver, config, ckpt, i)
            ran = _ran(before, _calls(client))
            # the guarantees the side commands gave: the thread listed, the run indexed
            assert client.zscore(ck.thread_registry(key_prefix), "t") is not None
            assert client.sismember(ck.run_index(key_prefix, "run-1"), ck.run_member("t"))
        assert [t.config["configurable"]["thread_id"] for t in saver.list(None)][:1] == ["t"]
    return ran


def test_a_steady_put_is_one_script_call_without_the_registry_zadd(
    redis_url: str, key_prefix: str
) -> None:
    """No TTL: one EVALSHA per put, no MULTI/EXEC, and one ZADD (the thread's index
    entry): the registry already names the thread, which one ZSCORE (a read, never
    propagated) confirms. Before: MULTI, ZADD threads, SADD of the run index beside the
    script, EXEC (17 commands per put; now 15)."""
    ran = _steady_puts(redis_url, key_prefix, None)
    assert "multi" not in ran and "exec" not in ran, ran
    assert ran["evalsha"] == PUTS, ran
    assert ran["zadd"] == PUTS, ran  # the checkpoint index only
    assert ran["zscore"] == PUTS, ran  # the registry entry is there, at score 0
    assert sum(ran.values()) == 15 * PUTS, ran


def test_a_steady_put_with_ttl_is_one_script_call(redis_url: str, key_prefix: str) -> None:
    """With TTL the registry score moves on every put (its expiry), so the script runs
    the registry ZADD and its prune, and the run index SADD and EXPIRE, itself."""
    ran = _steady_puts(redis_url, key_prefix, {"default_ttl": 5})
    assert "multi" not in ran and "exec" not in ran, ran
    assert ran["evalsha"] == PUTS, ran
    assert ran["zadd"] == 2 * PUTS, ran  # the checkpoint index and the registry
    assert ran["zremrangebyscore"] == PUTS, ran


def test_put_writes_with_a_run_id_is_one_script_call(redis_url: str, key_prefix: str) -> None:
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        config: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        config, _ = _step(saver, config, empty_checkpoint(), 0)
        config = {**config, "metadata": {"run_id": "run-2"}}
        with redis.Redis.from_url(redis_url) as client:
            before = _calls(client)
            for i in range(PUTS):
                saver.put_writes(config, [("x", i)], f"task-{i}")
            ran = _ran(before, _calls(client))
            assert client.sismember(ck.run_index(key_prefix, "run-2"), ck.run_member("t"))
        assert "multi" not in ran and "exec" not in ran, ran
        assert ran["evalsha"] == PUTS, ran
        saver.delete_for_runs(["run-2"])
        assert not saver.get_tuple(config).pending_writes  # type: ignore[union-attr]


def test_a_put_without_ttl_resets_a_score_a_ttl_saver_left(redis_url: str, key_prefix: str) -> None:
    """Savers with and without TTL on one prefix: the no-TTL put still writes score 0, so
    the TTL saver's registry pruning never drops a thread whose data does not expire."""
    registry = ck.thread_registry(key_prefix)
    config: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix, ttl={"default_ttl": 1}) as ttl:
        config, ckpt = _step(ttl, config, empty_checkpoint(), 0)
    with redis.Redis.from_url(redis_url) as client:
        assert client.zscore(registry, "t") not in (None, 0.0)  # expires with the data
        with RedisSaver.from_conn_string(redis_url, prefix=key_prefix) as plain:
            _step(plain, config, ckpt, 1)
        assert client.zscore(registry, "t") == 0.0
