"""The lower bound: the commands our saver sends, issued by hand through redis-py.

No plans, no validation, no TTL branches, no encoding of key parts: f-string keys, one
pipeline per call, the same ``PUT``, ``PUT_WRITES`` and ``GET_TUPLE`` scripts (sent by
SHA, loaded by the benchmark beforehand) for ``put``, ``put_writes``, ``get_tuple`` and
``list``. Values go through the
same serializer calls in the same byte format, because any saver has to serialize. What
is left between this and ``AsyncRedisSaver`` is the library's own overhead.

It subclasses ``BaseCheckpointSaver`` (nothing of it runs in the timed calls) so that
LangGraph runs a graph on it: the end-to-end bound (:mod:`benchmarks.e2e`). For that,
a channel in ``new_versions`` without a value is stored as our saver's ``EMPTY`` marker
and skipped on read, and special writes (errors, interrupts) take LangGraph's negative
index. Always full values, never deltas: a delta is our saver's saving on bytes sent.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aredis
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    CheckpointTuple,
    get_checkpoint_metadata,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from redis.exceptions import NoScriptError

from langgraph_redis._core.checkpoint.plans import PUT, PUT_WRITES
from langgraph_redis._core.checkpoint.reads import GET_TUPLE

_EMPTY = b"empty\0"  # our saver's marker for a channel listed without a value


def _dump(serde: SerializerProtocol, value: Any) -> bytes:
    type_, payload = serde.dumps_typed(value)
    return type_.encode() + b"\0" + payload


def _load(serde: SerializerProtocol, raw: bytes) -> Any:
    type_, _, payload = raw.partition(b"\0")
    return serde.loads_typed((type_.decode(), payload))


def _cfg(thread: str, cid: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread, "checkpoint_ns": "", "checkpoint_id": cid}}


class HandWrittenSaver(BaseCheckpointSaver[str]):
    """The saver methods the benchmarks and a LangGraph run call (root namespace only)."""

    def __init__(self, url: str, prefix: str = "lgrbound") -> None:
        super().__init__()
        pool = aredis.BlockingConnectionPool.from_url(url, max_connections=64)
        # from_pool: the client owns the pool, so aclose() closes its connections
        # (Redis(connection_pool=pool) would leave them to the garbage collector).
        self.client = aredis.Redis.from_pool(pool)
        self.prefix = prefix

    async def aclose(self) -> None:
        await self.client.aclose()

    async def load_scripts(self) -> None:
        """Load the scripts once, as our saver's setup does."""
        for script in (PUT, PUT_WRITES, GET_TUPLE):
            await self.client.script_load(script.source)

    def get_next_version(self, current: Any, channel: None) -> str:
        n = 0 if current is None else int(str(current).split(".")[0])
        return f"{n + 1:032}.{random.random():016}"

    async def aput(
        self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any
    ) -> RunnableConfig:
        keys: tuple[str, ...]
        conf = config["configurable"]
        thread = conf["thread_id"]
        base = f"{self.prefix}:{{{thread}}}:"
        cid = checkpoint["id"]
        stored = dict(checkpoint)
        values = stored.pop("channel_values")
        cp_key = f"{base}cp::{cid}"
        fields: list[bytes | str] = [
            "fmt",
            "1",
            "c",
            _dump(self.serde, stored),
            "m",
            _dump(self.serde, get_checkpoint_metadata(config, metadata)),
        ]
        if parent := conf.get("checkpoint_id"):
            fields += ["p", parent]
        for channel, version in checkpoint["channel_versions"].items():
            fields += ["b:" + channel, f"{base}b::{channel}:{version}"]
        blobs: list[bytes | str] = []
        for channel, version in new_versions.items():
            value = _dump(self.serde, values[channel]) if channel in values else _EMPTY
            blobs += [f"{base}b::{channel}:{version}", value]
        # one server: the script writes the thread registry itself (its last key)
        keys = (cp_key, f"{base}idx:", f"{base}nss", f"{base}keys", f"{base}blobs:")
        keys += (f"{self.prefix}:threads",)
        args = (cid, "", 0, 0, 0, 0, thread, len(fields) // 2, *fields, len(blobs) // 2, *blobs)
        await self.client.execute_command("EVALSHA", PUT.sha, len(keys), *keys, *args)  # type: ignore[no-untyped-call]
        return _cfg(thread, cid)

    async def aput_writes(
        self, config: Any, writes: Any, task_id: str, task_path: str = ""
    ) -> None:
        conf = config["configurable"]
        base = f"{self.prefix}:{{{conf['thread_id']}}}:"
        wkey = f"{base}w::{conf['checkpoint_id']}"
        args: list[bytes | str | int] = [0, "", "", "", ""]  # ttl, no run id, not shallow
        for idx, (channel, value) in enumerate(writes):
            header = json.dumps([channel, task_path]).encode()
            slot = WRITES_IDX_MAP.get(channel, idx)
            payload = header + b"\n" + _dump(self.serde, value)
            args += [int(slot < 0), f"{task_id}\0{slot}", payload]
        keys = [wkey, f"{base}keys", f"{base}wr::{conf['checkpoint_id']}", f"{base}run:"]
        keys += [f"{base}runs", f"{base}idx:"]
        await self.client.execute_command("EVALSHA", PUT_WRITES.sha, len(keys), *keys, *args)  # type: ignore[no-untyped-call]

    def _call(self, pipe: Any, thread: str, cid: str) -> None:
        base = f"{self.prefix}:{{{thread}}}:"
        pipe.execute_command("EVALSHA", GET_TUPLE.sha, 1, f"{base}idx:", cid, base, "", 0)

    def _decode(self, thread: str, reply: Any) -> CheckpointTuple | None:
        if not reply:
            return None
        raw_cid, cp_flat, w_flat, chans, vals = reply
        cid = raw_cid.decode()
        cp = dict(zip(cp_flat[0::2], cp_flat[1::2]))
        checkpoint = _load(self.serde, cp[b"c"])
        checkpoint["channel_values"] = {
            c.decode(): _load(self.serde, v)
            for c, v in zip(chans, vals)
            if v is not None and v != _EMPTY
        }
        writes = []
        for field, raw in zip(w_flat[0::2], w_flat[1::2]):
            task_id, _, _ = field.decode().rpartition("\0")
            header, _, body = raw.partition(b"\n")
            channel, _ = json.loads(header)
            writes.append((task_id, channel, _load(self.serde, body)))
        parent = cp.get(b"p")
        return CheckpointTuple(
            config=_cfg(thread, cid),
            checkpoint=checkpoint,
            metadata=_load(self.serde, cp[b"m"]),
            parent_config=_cfg(thread, parent.decode()) if parent else None,
            pending_writes=writes,
        )

    async def aget_tuple(self, config: Any) -> CheckpointTuple | None:
        conf = config["configurable"]
        thread = conf["thread_id"]
        pipe = self.client.pipeline(transaction=False)
        self._call(pipe, thread, conf.get("checkpoint_id") or "")
        try:
            (reply,) = await pipe.execute()
        except NoScriptError:
            await self.client.script_load(GET_TUPLE.source)
            return await self.aget_tuple(config)
        return self._decode(thread, reply)

    async def alist(
        self, config: Any, *, filter: Any = None, before: Any = None, limit: Any = None
    ) -> AsyncIterator[CheckpointTuple]:
        thread = config["configurable"]["thread_id"]
        base = f"{self.prefix}:{{{thread}}}:"
        ids = await self.client.execute_command(  # type: ignore[no-untyped-call]
            "ZRANGE", f"{base}idx:", "+", "-", "BYLEX", "REV", "LIMIT", 0, limit or 100
        )
        pipe = self.client.pipeline(transaction=False)
        for cid in ids:
            self._call(pipe, thread, cid.decode())
        for reply in await pipe.execute():
            found = self._decode(thread, reply)
            if found is not None:
                yield found
