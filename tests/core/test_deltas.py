"""The I/O-free delta decisions (``_core/checkpoint/deltas.py``): when a tail, when a full value."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from langgraph_redis._core.checkpoint import deltas
from langgraph_redis._core.checkpoint.deltas import (
    DeltaCache,
    Written,
    assemble,
    base_key,
    blob_value,
    is_delta,
)
from langgraph_redis._core.checkpoint.serde import load_typed
from langgraph_redis.errors import CorruptDataError

SERDE = JsonPlusSerializer()


def _key(n: int) -> str:
    return f"p:{{t}}:b::messages:{n:032}.0.5"


def _grow(steps: int) -> tuple[list[bytes], list[Any], Written | None]:
    """Append one item per step; return the blobs written, the final list, the entry."""
    value: list[Any] = []
    blobs: list[bytes] = []
    prev: Written | None = None
    for i in range(steps):
        value = [*value, {"id": i, "text": "x" * 50}]
        raw, prev = blob_value(SERDE, _key(i), "messages", value, prev)
        blobs.append(raw)
    return blobs, value, prev


def _read(blobs: list[bytes], i: int) -> Any:
    """Assemble blob ``i`` the way GET_TUPLE returns it: newest part first."""
    parts, key = [blobs[i]], _key(i)
    while is_delta(parts[-1]):
        key = base_key(key, parts[-1])
        parts.append(blobs[int(key.rpartition(":")[2].split(".")[0])])
    if len(parts) == 1:
        return load_typed(SERDE, parts[0], "test")
    return assemble(SERDE, parts, "test")


def test_appends_become_deltas_and_read_back() -> None:
    blobs, value, _ = _grow(50)
    assert sum(map(is_delta, blobs)) > 30
    for i in range(50):
        assert _read(blobs, i) == value[: i + 1]


def test_chain_depth_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deltas, "MAX_DEPTH", 8)  # the same rule, reached in fewer steps
    blobs, _, last = _grow(16 * deltas.MAX_DEPTH)
    assert last is not None
    deepest = 0
    for i in range(len(blobs)):
        depth, key, raw = 0, _key(i), blobs[i]
        while is_delta(raw):
            depth += 1
            key = base_key(key, raw)
            raw = blobs[int(key.rpartition(":")[2].split(".")[0])]
        assert depth <= deltas.MAX_DEPTH
        deepest = max(deepest, depth)
    assert deepest == deltas.MAX_DEPTH


def _depth(blobs: list[bytes], i: int) -> int:
    depth, key, raw = 0, _key(i), blobs[i]
    while is_delta(raw):
        depth += 1
        key = base_key(key, raw)
        raw = blobs[int(key.rpartition(":")[2].split(".")[0])]
    return depth


def test_an_unchanged_list_adds_no_link() -> None:
    """A list written back unchanged (a new version, the same items) is stored as a
    sibling of the last delta: reads stay as short as the last growth left them,
    rather than one link longer per step (256 parts after 256 unchanged steps)."""
    blobs, value, prev = _grow(5)
    expected = [value[: i + 1] for i in range(5)]
    for i in range(5, 400):
        if i % 100 == 0:  # growth between the still stretches
            value = [*value, {"id": i, "text": "y" * 50}]
        raw, prev = blob_value(SERDE, _key(i), "messages", value, prev)
        blobs.append(raw)
        expected.append(value)
    assert max(_depth(blobs, i) for i in range(len(blobs))) <= 8
    assert [_read(blobs, i) for i in range(len(blobs))] == expected
    final = len(SERDE.dumps_typed(value)[1])
    assert sum(map(len, blobs)) <= 400 * 64 + 40 * final


@pytest.mark.parametrize("change", ["edit", "remove", "reorder", "mutate", "new object"])
def test_anything_but_an_append_is_a_full_value(change: str) -> None:
    value: list[Any] = [{"id": i} for i in range(20)]
    _, prev = blob_value(SERDE, _key(0), "messages", value, None)
    if change == "edit":
        new = [*value[:5], {"id": "x"}, *value[6:], {"id": 99}]
    elif change == "remove":
        new = [*value[1:], {"id": 99}]
    elif change == "reorder":
        new = [value[1], value[0], *value[2:], {"id": 99}]
    elif change == "mutate":
        value[3]["id"] = "changed in place"
        new = [*value, {"id": 99}]
    else:  # equal, but not the objects that were put
        new = [*(dict(v) for v in value), {"id": 99}]
    raw, _ = blob_value(SERDE, _key(1), "messages", new, prev)
    assert not is_delta(raw)


def test_non_lists_are_never_remembered() -> None:
    assert blob_value(SERDE, _key(0), "c", (1, 2), None)[1] is None
    assert blob_value(SERDE, _key(0), "c", {"a": 1}, None)[1] is None


def test_a_damaged_chain_is_reported() -> None:
    blobs, _, _ = _grow(30)
    i = next(i for i, b in enumerate(blobs) if is_delta(b))
    with pytest.raises(CorruptDataError, match="missing"):
        assemble(SERDE, [blobs[i], None], "test")
    with pytest.raises(CorruptDataError, match="length"):
        assemble(SERDE, [blobs[i], blobs[i - 1] + b"x"], "test")


def test_cache_is_bounded_and_forgets_threads() -> None:
    cache = DeltaCache(size=2)
    entry = Written("k", 1, (), [], 0, 1, 0)
    for t in ("a", "b", "c"):
        cache.update(t, "", {"messages": entry})
    assert cache.get("a", "", "messages") is None
    assert cache.get("c", "", "messages") is entry
    cache.forget("c")
    assert cache.get("c", "", "messages") is None


def test_cache_bounds_the_items_it_holds() -> None:
    cache = DeltaCache(size=10, items=5)
    small = Written("k", 1, (1, 2), [1, 2], 0, 1, 0)
    big = Written("k", 1, (1, 2, 3, 4), [1, 2, 3, 4], 0, 1, 0)
    cache.update("a", "", {"messages": small})
    cache.update("b", "", {"messages": small})
    cache.update("c", "", {"messages": big})  # 8 items: the oldest go until <= 5
    assert cache.get("a", "", "messages") is None
    assert cache.get("b", "", "messages") is None
    assert cache.get("c", "", "messages") is big
    cache.update("c", "", {"messages": small})  # replacing counts the new size only
    cache.update("d", "", {"messages": small})
    assert cache.get("c", "", "messages") is small
