"""Decoding ``GET_TUPLE`` replies: the quick pass agrees with the careful one.

``decode_tuple`` first decodes without formatting any error message and decodes again,
carefully, on any failure. Here both passes read the same replies, written by the
library's own encoders: every shape the quick pass accepts must decode the same way, and
every reply it gives up on must still get the careful pass's error, naming the thread.
"""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from langgraph_redis._core.checkpoint import config as cfgm
from langgraph_redis._core.checkpoint import reads
from langgraph_redis._core.checkpoint.deltas import encode_delta
from langgraph_redis._core.checkpoint.serde import (
    EMPTY,
    FORMAT_VERSION,
    CorruptDataError,
    UnsupportedFormatError,
    dump_typed,
    dump_write,
)

SERDE = JsonPlusSerializer()
CFG = cfgm.SaverConfig(SERDE, "pfx")


def _reply(
    *,
    fmt: bytes = FORMAT_VERSION.encode(),
    parent: bytes | None = b"p-1",
    channels: dict[bytes, Any] | None = None,
    writes: list[tuple[bytes, bytes]] | None = None,
    checkpoint: bytes | None = None,
) -> list[Any]:
    """A GET_TUPLE reply as the script returns it: id, hash, writes, channels, values."""
    channels = {b"a": dump_typed(SERDE, [1, 2], "a")} if channels is None else channels
    cp = {"v": 1, "id": "c-2", "channel_versions": {"a": "2"}, "versions_seen": {}}
    flat: list[bytes] = [b"fmt", fmt, b"c", checkpoint or dump_typed(SERDE, cp, "c")]
    flat += [b"m", dump_typed(SERDE, {"step": 2, "source": "loop"}, "m")]
    if parent is not None:
        flat += [b"p", parent]
    for name in channels:
        flat += [b"b:" + name, b"pfx:{t}:b::" + name + b":2"]
    w_flat = [x for pair in writes or [] for x in pair]
    return [b"c-2", flat, w_flat, list(channels), list(channels.values())]


def _write(channel: str, value: Any, path: str = "") -> bytes:
    return dump_write(SERDE, channel, value, path)


BASE, TAIL = dump_typed(SERDE, [1, 2], "a"), dump_typed(SERDE, [3], "a")
SHAPES = {
    "plain": _reply(),
    "no-parent": _reply(parent=None),
    "format-1": _reply(fmt=b"1"),
    "empty-and-missing-channels": _reply(
        channels={b"a": EMPTY, b"b": None, b"c": dump_typed(SERDE, "x", "c")}
    ),
    "delta-chain": _reply(channels={b"a": [encode_delta("pfx:{t}:b::a:1", len(BASE), TAIL), BASE]}),
    "writes-out-of-order": _reply(
        writes=[
            (b"task-b\x001", _write("a", 2, "~1")),
            (b"task-a\x000", _write("a", {"k": [1]}, "~1")),
            (b"task-b\x000", _write("b", None, "~0")),
        ]
    ),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_fast_decoder_matches_the_careful_one(shape: str) -> None:
    reply = SHAPES[shape]
    found = reads.decode_tuple(CFG, "t", "", reply, "c-2")
    careful = reads._decode_tuple(CFG, "t", "", reply, careful=True)
    assert found == careful
    assert reads._decode_tuple(CFG, "t", "", reply, careful=False) == careful


def test_delta_chain_is_assembled_by_both() -> None:
    found = reads.decode_tuple(CFG, "t", "", SHAPES["delta-chain"], "c-2")
    assert found is not None and found.checkpoint["channel_values"] == {"a": [1, 2, 3]}


DAMAGED = {
    "unknown-format": (_reply(fmt=b"99"), UnsupportedFormatError),
    "no-format": (_reply(fmt=b""), CorruptDataError),
    "checkpoint-not-ours": (_reply(checkpoint=b"no type prefix"), CorruptDataError),
    "checkpoint-not-a-dict": (_reply(checkpoint=dump_typed(SERDE, [1], "c")), CorruptDataError),
    "channel-garbled": (_reply(channels={b"a": b"msgpack\x00\xc1"}), CorruptDataError),
    "write-not-task-index": (_reply(writes=[(b"no-index", _write("a", 1))]), CorruptDataError),
    "write-header-garbled": (_reply(writes=[(b"t\x000", b"{}\n" + b"x")]), CorruptDataError),
    "broken-chain": (_reply(channels={b"a": [b"delta\x00x", None]}), CorruptDataError),
}


@pytest.mark.parametrize("damage", DAMAGED)
def test_a_reply_the_fast_decoder_refuses_gets_the_careful_error(damage: str) -> None:
    reply, error = DAMAGED[damage]
    with pytest.raises(error) as info:
        reads.decode_tuple(CFG, "t", "", reply, "c-2")
    assert "'t'" in str(info.value) or "pfx:{t}:" in str(info.value), str(info.value)
    with pytest.raises(Exception):  # noqa: B017 - any failure sends it to the careful path
        reads._decode_tuple(CFG, "t", "", reply, careful=False)
