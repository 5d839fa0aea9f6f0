# WARNING: generated from tests/_async/test_store_security.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""The store as a least-privilege ACL user (the lines in docs/security.md, Store).

The sync twin (``tests/_sync/test_store_security.py``) is generated from this file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, cast

import pytest
from langgraph.store.base import PutOp
from redis.exceptions import NoPermissionError, ResponseError

from langgraph_redis import RedisStore
from langgraph_redis._acompat import Redis
from langgraph_redis.demo import HashEmbeddings
from tests._sync.clock import ttl_clock
from tests.acl import Login, acl_user, documented_commands

# Every command the store sends, directly or from its Lua scripts, plus the connection
# handshake and the probe, as docs/security.md (Store) lists them; and what its text
# adds for the query engine.
STORE_COMMANDS = documented_commands("lgr_store")
QUERY_COMMANDS = "+ft._list +ft.info +ft.create +ft.search"
NOPERM = r"(?i)noperm|no permissions"


@pytest.fixture
def store_user(redis_url: str, key_prefix: str, engine: str) -> Iterator[Login]:
    """A user allowed only the store's commands on ``key_prefix:*``; removed afterwards."""
    commands = STORE_COMMANDS + (" " + QUERY_COMMANDS if engine == "stack" else "")
    with acl_user(redis_url, key_prefix, commands, "lgrs") as (admin, login):
        yield login
        if engine == "stack" and f"{key_prefix}:idx".encode() in admin.execute_command("FT._LIST"):
            admin.execute_command("FT.DROPINDEX", f"{key_prefix}:idx")


def index() -> Any:
    return {"dims": 32, "embed": HashEmbeddings(32), "fields": ["text"]}


def test_store_as_least_privilege_user(
    redis_url: str,
    key_prefix: str,
    engine: str,
    store_user: Login,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    ttl: Any = {"default_ttl": 10.0, "refresh_on_read": True, "omit_expired": True}
    store = RedisStore(store_user.url, index=index(), prefix=key_prefix, ttl=ttl)
    admin = Redis.from_url(redis_url)  # ages keys: the store user may not
    clock = ttl_clock(store, admin)
    try:
        store.setup()
        assert store.engine == ("query" if engine == "stack" else "plain")
        ns = ("users", "u-1")
        store.batch([PutOp(ns, f"k{i}", {"text": f"coffee {i}", "n": i}) for i in range(5)])
        store.put(("users", "u:2"), "k", {"text": "tea"}, ttl=1)
        item = store.get(ns, "k1")
        assert item is not None and item.value == {"text": "coffee 1", "n": 1}
        assert [i.key for i in store.search(ns, filter={"n": {"$gte": 3}})] == ["k3", "k4"]
        found = store.search(("users",), query="coffee 2", filter={"n": {"$ne": 0}})
        assert found[0].key == "k2" and len(found) == 5  # "tea" has no n: $ne matches
        clock.advance(61)
        assert store.list_namespaces(prefix=("users",)) == [ns]  # omit_expired
        assert store.sweep_ttl() == 1
        store.delete(ns, "k0")
        for i in range(1, 5):
            store.delete(ns, f"k{i}")
        assert store.list_namespaces() == []
    finally:
        store.close()
        admin.close()
    assert store_user.password not in caplog.text


def test_store_user_cannot_touch_other_prefixes(key_prefix: str, store_user: Login) -> None:
    url = store_user.url
    with RedisStore(url, prefix=key_prefix, engine="plain") as mine:
        mine.put(("n",), "k", {"v": 1})
        assert mine.get(("n",), "k") is not None
    with RedisStore(url, prefix=key_prefix + "x", engine="plain") as other:
        with pytest.raises(ResponseError, match=NOPERM):
            other.put(("n",), "k", {"v": 1})
        with pytest.raises(ResponseError, match=NOPERM):
            other.get(("n",), "k")
        with pytest.raises(ResponseError, match=NOPERM):
            other.search(("n",))
        with pytest.raises(ResponseError, match=NOPERM):
            other.list_namespaces()
    client = Redis.from_url(url)
    try:
        with pytest.raises(NoPermissionError):
            client.hgetall(f"{key_prefix}x:i:{{n}}:k")
        for denied in (("KEYS", "*"), ("SCAN", 0), ("FLUSHALL",), ("CONFIG", "GET", "*")):
            with pytest.raises(NoPermissionError):
                cast(Any, client).execute_command(*denied)
    finally:
        client.close()
