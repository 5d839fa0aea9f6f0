"""What one store put costs the server, and what an overwrite leaves behind.

The put script reads the previous version's ``nv``/``ca``/``ttl``/``flt`` first and
writes each hash with one ``HSET``, so the steady state runs no ``DEL``/``HDEL``/
``HSETNX ca``/``PERSIST`` (issue 13). Counted with ``INFO commandstats`` on a server of
each engine (deterministic: the commands a script runs, never a timing); the overwrite
tests check that dropping a TTL, the text to embed or every filterable value still
leaves the same data as a fresh put.
"""

from __future__ import annotations

from typing import Any

import redis

from langgraph_redis import RedisStore
from langgraph_redis._core.store import keys as sk
from tests._sync.test_store import FakeEmbeddings, index_config


def _calls(client: Any) -> dict[str, int]:
    stats = client.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}


def _store(url: str, prefix: str) -> RedisStore:
    store = RedisStore(url, index=index_config(FakeEmbeddings()), prefix=prefix)
    store.setup()
    return store


def test_a_put_runs_eight_commands_besides_vector_set_upkeep(
    redis_url: str, key_prefix: str
) -> None:
    """One item with one vector, written again (no TTL): eight commands inside the
    script besides the vector-set upkeep (``EXISTS`` of the set, or ``V*`` on the
    vector-set engine); twelve before (DEL of the vector key, HSETNX ca, HDEL ttl,
    PERSIST)."""
    store = _store(redis_url, key_prefix)
    try:
        for i in range(20):
            store.put(("c", "u"), f"k{i}", {"text": f"hello {i}", "n": i})
        with redis.Redis.from_url(redis_url) as client:
            before = _calls(client)
            for i in range(20):
                store.put(("c", "u"), f"k{i}", {"text": f"again {i}", "n": i})
            after = _calls(client)
        ran = {
            k: after[k] - before.get(k, 0)
            for k in after
            if after[k] != before.get(k, 0)
            and k not in ("info", "evalsha", "eval", "exists")
            and not k.lower().startswith("v")
        }
        assert sum(ran.values()) == 8 * 20, ran
        for gone in ("del", "hdel", "persist", "unlink"):
            assert gone not in ran, ran
    finally:
        store.close()


def test_an_overwrite_drops_ttl_vectors_and_filter_digests(redis_url: str, key_prefix: str) -> None:
    """TTL -> none (item and vector keys persist), text -> none (the vector key goes),
    filterable values -> none (no ``flt`` left on the item)."""
    store = _store(redis_url, key_prefix)
    nst = sk.ns_text(("o",))
    item = sk.item_key(key_prefix, nst, "k")
    vec = sk.vec_key_base(key_prefix, nst, "k") + "0"
    try:
        with redis.Redis.from_url(redis_url) as client:
            store.put(("o",), "k", {"text": "one", "n": 1}, ttl=5)
            assert client.pttl(item) > 0 and client.pttl(vec) > 0
            store.put(("o",), "k", {"text": "two", "n": 2})
            assert client.pttl(item) == -1 and client.pttl(vec) == -1
            assert client.hget(item, "ttl") is None
            store.put(("o",), "k", {"other": [1, 2]})
            assert client.exists(vec) == 0
            assert client.hget(item, "flt") is None
            assert client.hget(item, "nv") == b"0"
            got = store.get(("o",), "k")
            assert got is not None and got.value == {"other": [1, 2]}
            assert store.search(("o",), filter={"n": 2}) == []
    finally:
        store.close()
