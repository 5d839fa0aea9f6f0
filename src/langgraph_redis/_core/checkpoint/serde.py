"""Checkpoint, blob and write encoding.

LangGraph's serializer output is kept as opaque bytes: ``type + NUL + payload``. We never
re-encode values as JSON of our own, so every type the serializer round-trips (Interrupt,
Send, messages, sets, encrypted payloads) round-trips through Redis unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_redis._core import replies
from langgraph_redis._core.errors import CorruptDataError, UnsupportedFormatError

__all__ = ["CorruptDataError", "UnsupportedFormatError"]  # re-exported for _core callers

FORMAT_VERSION = "2"
"""Stored in each checkpoint hash; data from a newer release is refused, not misread.

Format 2 (channel deltas, see ``deltas.py``): a blob may hold a list's tail and the key of
the blob it extends. Format 1 data (no deltas) is read unchanged."""

READABLE_FORMATS = ("1", FORMAT_VERSION)
"""Formats this release reads."""


def dump_typed(serde: SerializerProtocol, value: Any, what: str) -> bytes:
    """Serialize ``value``; name ``what`` failed so the caller's error is actionable."""
    try:
        type_, payload = serde.dumps_typed(value)
    except Exception as exc:
        raise ValueError(f"cannot serialize {what}: {exc}") from exc
    return type_.encode() + b"\0" + payload


def load_typed(serde: SerializerProtocol, raw: bytes, what: str) -> Any:
    """Inverse of :func:`dump_typed`.

    Raises:
        CorruptDataError: ``raw`` is not a value we wrote, or the serializer cannot read
            it (truncated, garbled); the message names ``what``, never the value.
    """
    if not isinstance(raw, bytes):
        raise CorruptDataError(f"{what}: not a langgraph-redis value")
    type_, sep, payload = raw.partition(b"\0")
    if not sep:
        raise CorruptDataError(f"{what}: not a langgraph-redis value")
    try:
        return serde.loads_typed((type_.decode(), payload))
    except Exception as exc:  # any serializer (msgpack, json, pickle, encryption) error
        raise CorruptDataError(
            f"{what}: the serializer cannot read it ({type(exc).__name__}; damaged data?)"
        ) from exc


EMPTY = b"empty\0"
"""Blob marker for a channel listed in ``new_versions`` but absent from the values."""


def dump_write(serde: SerializerProtocol, channel: str, value: Any, task_path: str) -> bytes:
    """A pending write: a JSON header line (channel, task path) then the typed value."""
    header = json.dumps([channel, task_path]).encode()
    return header + b"\n" + dump_typed(serde, value, f"write to channel {channel!r}")


def load_write(
    serde: SerializerProtocol, raw: bytes, what: str = "pending write"
) -> tuple[str, Any, str]:
    """Return ``(channel, value, task_path)``; :class:`CorruptDataError` naming ``what``."""
    if not isinstance(raw, bytes):
        raise CorruptDataError(f"{what}: not a langgraph-redis value")
    header, sep, body = raw.partition(b"\n")
    try:
        channel, task_path = json.loads(header) if sep else (None, None)
    except (ValueError, TypeError):
        channel = task_path = None
    if not isinstance(channel, str) or not isinstance(task_path, str):
        raise CorruptDataError(f"{what}: not a langgraph-redis value")
    return channel, load_typed(serde, body, f"{what}, channel {channel!r}"), task_path


def check_format(version: bytes | None, key: str) -> None:
    """Refuse data whose format version we do not know (see :func:`.replies.check_format`)."""
    replies.check_format(version, READABLE_FORMATS, key)
