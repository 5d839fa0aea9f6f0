# WARNING: generated from tests/_async/test_hostile_input.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""Control characters in every user-supplied name, and damaged stored data.

Thread ids, checkpoint namespaces, checkpoint ids, channel and task names, metadata
``run_id``, store namespace labels and keys may hold any control character (NUL
included): they round-trip through every call. Data damaged under our prefix (a
truncated or garbled checkpoint, channel value or pending write, a store item with
wrong fields, keys of the wrong type) raises ``CorruptDataError`` naming the key, never
an error from inside the decoder. The sync twin is generated from this file.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, cast

import pytest
from langgraph.checkpoint.base import CheckpointTuple, empty_checkpoint
from langgraph.checkpoint.base.id import uuid6
from langgraph.store.base import InvalidNamespaceError

from langgraph_redis import RedisSaver, RedisStore, CorruptDataError
from langgraph_redis._acompat import Redis
from langgraph_redis._core.checkpoint.keys import ThreadKeys
from langgraph_redis._core.store import keys as sk
from tests._sync.stores import close_store, put_and_read_back
from tests._sync.test_store import FakeEmbeddings, index_config

CONTROL = [chr(c) for c in range(0x20)] + ["\x7f"]


def _ids(c: str) -> str:
    return f"{ord(c):02x}"


@pytest.fixture
def store(redis_url: str, key_prefix: str) -> Iterator[RedisStore]:
    store = RedisStore(redis_url, index=index_config(FakeEmbeddings()), prefix=key_prefix)
    store.setup()
    try:
        yield store
    finally:
        close_store(store, key_prefix)


def conf(thread_id: str, ns: str = "", checkpoint_id: str | None = None) -> Any:
    c: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ns}
    if checkpoint_id is not None:
        c["checkpoint_id"] = checkpoint_id
    return {"configurable": c}


def whole(thread_id: str) -> Any:
    """A config naming a thread and no namespace: ``list`` covers all of them."""
    return {"configurable": {"thread_id": thread_id}}


def _cp(cid: str, values: dict[str, Any]) -> Any:
    cp = empty_checkpoint()
    cp["id"] = cid
    cp["channel_values"] = dict(values)
    cp["channel_versions"] = dict.fromkeys(values, cid)
    return cp


def _ids_of(tuples: list[CheckpointTuple]) -> list[tuple[str, str, str]]:
    return [
        (
            t.config["configurable"]["thread_id"],
            t.config["configurable"]["checkpoint_ns"],
            t.config["configurable"]["checkpoint_id"],
        )
        for t in tuples
    ]


# -- control characters -------------------------------------------------------------


@pytest.mark.parametrize("c", CONTROL, ids=_ids)
def test_saver_names_with_control_characters_round_trip(
    saver: RedisSaver, c: str
) -> None:
    """Thread, namespace, checkpoint id, channel, task and run id holding ``c``."""
    tid, copy = f"t{c}{uuid.uuid4().hex[:6]}", f"c{c}{uuid.uuid4().hex[:6]}"
    ns, chan, task = f"sub{c}graph:x", f"ch{c}", f"task{c}"
    run1, run2 = f"run{c}1", f"run{c}2"
    cid1 = str(uuid6())
    cid2 = str(uuid6()) + c  # checkpoint ids are compared as strings: still the newer
    saver.put(conf(tid, ns), _cp(cid1, {chan: 1}), {"run_id": run1}, {chan: cid1})
    saver.put(conf(tid, ns, cid1), _cp(cid2, {chan: 2}), {"run_id": run2}, {chan: cid2})
    saver.put_writes(conf(tid, ns, cid2), [(chan, "w")], task)

    latest = saver.get_tuple(conf(tid, ns))
    assert latest is not None
    assert _ids_of([latest]) == [(tid, ns, cid2)]
    assert latest.checkpoint["channel_values"] == {chan: 2}
    assert latest.pending_writes == [(task, chan, "w")]
    assert latest.parent_config is not None
    assert latest.parent_config["configurable"]["checkpoint_id"] == cid1
    first = saver.get_tuple(conf(tid, ns, cid1))
    assert first is not None and first.checkpoint["channel_values"] == {chan: 1}

    both = [(tid, ns, cid2), (tid, ns, cid1)]
    assert _ids_of([t for t in saver.list(whole(tid))]) == both
    assert _ids_of([t for t in saver.list(conf(tid, ns))]) == both
    assert _ids_of([t for t in saver.list(None, filter={"run_id": run2})]) == both[:1]
    assert _ids_of([t for t in saver.list(whole(tid), before=conf(tid, ns, cid2))]) == [
        both[1]
    ]

    saver.copy_thread(tid, copy)
    copied = [(t, n, i) for t, n, i in both]
    assert _ids_of([t for t in saver.list(whole(copy))]) == [
        (copy, n, i) for _, n, i in copied
    ]
    saver.delete_for_runs([run2])
    assert _ids_of([t for t in saver.list(whole(tid))]) == both[1:]
    assert _ids_of([t for t in saver.list(whole(copy))]) == [(copy, ns, cid1)]

    saver.put(conf(tid, ns, cid1), _cp(cid2, {chan: 3}), {}, {chan: cid2})
    saver.prune([tid], strategy="keep_latest")
    assert _ids_of([t for t in saver.list(whole(tid))]) == both[:1]
    saver.delete_thread(tid)
    saver.prune([copy], strategy="delete")
    assert [t for t in saver.list(whole(tid))] == []
    assert [t for t in saver.list(None)] == []


@pytest.mark.parametrize("c", CONTROL, ids=_ids)
def test_store_names_with_control_characters_round_trip(
    store: RedisStore, c: str
) -> None:
    """Namespace labels and item keys holding ``c``: every call finds them.

    LangGraph itself refuses NUL in a label (``InvalidNamespaceError``, a ``ValueError``
    naming the label) before the store sees it; item keys may hold NUL.
    """
    if c == "\0":
        with pytest.raises(InvalidNamespaceError, match="NUL"):
            store.put(("mem", "a\0b"), "k", {"x": 1})
        label = "nul"
    else:
        label = c
    namespaces = [("mem", f"a{label}b"), (label, "x"), ("mem", f"{label}{label}")]
    keys = [f"k{c}", c, f"{c}k{c}"]
    put_and_read_back(store, namespaces, keys)
    for ns in namespaces:
        found = store.search(ns, limit=10)
        assert sorted(i.key for i in found) == sorted(keys)
        scored = store.search(ns, query=f"{ns}/{keys[0]}", limit=10)
        assert sorted(i.key for i in scored) == sorted(keys)
        matched = store.search(ns, filter={"k": keys[2]}, limit=10)
        assert [i.key for i in matched] == [keys[2]]
    assert sorted(store.list_namespaces(limit=100)) == sorted(namespaces)
    assert store.list_namespaces(prefix=(label,)) == [(label, "x")]
    assert store.list_namespaces(suffix=(f"a{label}b",)) == [("mem", f"a{label}b")]
    assert store.list_namespaces(prefix=("mem",), max_depth=1) == [("mem",)]
    for key in keys:
        store.delete(namespaces[0], key)
        assert store.get(namespaces[0], key) is None
    assert namespaces[0] not in store.list_namespaces(limit=100)


# -- damaged data ---------------------------------------------------------------------


def _cut(raw: bytes) -> bytes:
    return raw[: max(1, len(raw) // 2)]


def _garble(raw: bytes) -> bytes:
    head, sep, _ = raw.partition(b"\0")
    return head + sep + bytes(range(0xC1, 0xC1 + 24)) if sep else b"\xc1" * 24


def _seed(saver: RedisSaver, tid: str) -> tuple[str, str]:
    cid1, cid2 = str(uuid6()), str(uuid6())
    saver.put(conf(tid), _cp(cid1, {"a": "one" * 20}), {"run_id": "r"}, {"a": cid1})
    saver.put(
        conf(tid, "", cid1),
        _cp(cid2, {"a": "two" * 20, "b": [1, 2]}),
        {"step": 2},
        {"a": cid2, "b": cid2},
    )
    saver.put_writes(conf(tid, "", cid2), [("a", "pending" * 10)], "task")
    return cid1, cid2


SAVER_DAMAGE = [
    "checkpoint-truncated",
    "checkpoint-garbled",
    "checkpoint-not-ours",
    "checkpoint-not-a-dict",
    "checkpoint-field-missing",
    "metadata-truncated",
    "metadata-not-a-dict",
    "channel-truncated",
    "channel-garbled",
    "write-truncated",
    "write-header-garbled",
    "write-field-garbled",
    "checkpoint-wrong-type",
    "writes-wrong-type",
    "index-wrong-type",
]


@pytest.mark.parametrize("damage", SAVER_DAMAGE)
def test_damaged_checkpoint_data_raises_corrupt_data_error(
    saver: RedisSaver, client: Redis, key_prefix: str, damage: str
) -> None:
    """get_tuple and list raise ``CorruptDataError`` naming the thread and key."""
    tid = f"thread-{damage}"
    _, cid = _seed(saver, tid)
    keys = ThreadKeys(key_prefix, tid)
    cp_key, w_key = keys.checkpoint("", cid), keys.writes("", cid)
    serde = saver.serde
    named = cp_key
    if damage.startswith("checkpoint-") or damage.startswith("metadata-"):
        field = "m" if damage.startswith("metadata-") else "c"
        raw = client.hget(cp_key, field)
        assert isinstance(raw, bytes)
        if damage.endswith("truncated"):
            client.hset(cp_key, field, _cut(raw))
        elif damage.endswith("garbled"):
            client.hset(cp_key, field, _garble(raw))
        elif damage.endswith("not-ours"):
            client.hset(cp_key, field, b"plain text, no type prefix")
        elif damage.endswith("not-a-dict"):
            type_, payload = serde.dumps_typed([1, 2, 3])
            client.hset(cp_key, field, type_.encode() + b"\0" + payload)
        elif damage.endswith("field-missing"):
            client.hdel(cp_key, "c")
        elif damage.endswith("wrong-type"):
            client.delete(cp_key)
            client.set(cp_key, b"not a hash")
    elif damage.startswith("channel-"):
        blob_key = cast(bytes, client.hget(cp_key, "b:a")).decode()
        named = blob_key
        raw = client.get(blob_key)
        assert isinstance(raw, bytes)
        client.set(blob_key, _cut(raw) if damage.endswith("truncated") else _garble(raw))
    elif damage.startswith("write-"):
        named = w_key
        fields = cast(dict[bytes, bytes], client.hgetall(w_key))
        ((field_name, raw),) = fields.items()
        if damage == "write-truncated":
            client.hset(w_key, field_name, _cut(raw))
        elif damage == "write-header-garbled":
            client.hset(
                w_key, field_name, b'{"not": "a header"}\n' + raw.partition(b"\n")[2]
            )
        else:
            client.hdel(w_key, field_name)
            client.hset(w_key, b"no-task-index", raw)
    elif damage == "writes-wrong-type":
        named = w_key
        client.delete(w_key)
        client.rpush(w_key, b"x")
    elif damage == "index-wrong-type":
        named = keys.index("")
        client.delete(named)
        client.set(named, b"not a sorted set")

    if damage == "index-wrong-type":  # a get by id does not read the index
        assert saver.get_tuple(conf(tid, "", cid)) is not None
    else:
        with pytest.raises(CorruptDataError) as info:
            saver.get_tuple(conf(tid, "", cid))
        assert named in str(info.value), str(info.value)
    with pytest.raises(CorruptDataError) as info:
        saver.get_tuple(conf(tid, ""))
    assert tid in str(info.value), str(info.value)
    with pytest.raises(CorruptDataError):
        _ = [t for t in saver.list(whole(tid))]
    with pytest.raises(CorruptDataError):
        _ = [t for t in saver.list(None, filter={"step": 2})]


STORE_DAMAGE = {
    "value-truncated": ("value", b'{"text": "abc'),
    "value-garbled": ("value", b"\xc1\xff\x00"),
    "created-huge": ("ca", b"9" * 30),
    "created-garbled": ("ca", b"yesterday"),
    "updated-huge": ("ua", b"-" + b"9" * 25),
    "updated-garbled": ("ua", b""),
    "vectors-garbled": ("nv", b"many"),
    "ttl-garbled": ("ttl", b"soon"),
}


@pytest.mark.parametrize("damage", [*STORE_DAMAGE, "item-wrong-type", "vector-wrong-type"])
def test_damaged_store_item_fails_its_get_and_is_skipped_by_search(
    store: RedisStore, client: Redis, key_prefix: str, damage: str
) -> None:
    """get raises ``CorruptDataError`` naming the item; search leaves the item out."""
    ns = ("damaged", "ns")
    for k in ("good", "bad"):
        store.put(ns, k, {"text": f"entry {k}"})
    nst = sk.ns_text(ns)
    item_key = sk.item_key(key_prefix, nst, "bad")
    if damage in STORE_DAMAGE:
        field, raw = STORE_DAMAGE[damage]
        client.hset(item_key, field, raw)
    elif damage == "item-wrong-type":
        client.delete(item_key)
        client.rpush(item_key, b"x")
    else:
        vkey = sk.vec_key_base(key_prefix, nst, "bad") + "0"
        client.delete(vkey)
        client.set(vkey, b"x")
    # Make cached snapshots re-read the damaged item.
    client.zadd(sk.stamps_key(key_prefix, nst), {"bad": 10**9})
    client.hincrby(sk.version_key(key_prefix, nst), "v", 1)

    readable = damage in ("vectors-garbled", "vector-wrong-type")
    if readable:  # a field get does not read: the item itself is intact
        item = store.get(ns, "bad")
        assert item is not None and item.value == {"text": "entry bad"}
    else:
        with pytest.raises(CorruptDataError, match=r"store item \('damaged', 'ns'\)/'bad'"):
            store.get(ns, "bad")
    listed = {i.key for i in store.search(ns, limit=10)}
    assert "good" in listed and (readable or "bad" not in listed), listed
    scored = {i.key for i in store.search(ns, query="entry", limit=10)}
    assert "good" in scored and (readable or "bad" not in scored), scored
    assert store.list_namespaces() == [ns]
