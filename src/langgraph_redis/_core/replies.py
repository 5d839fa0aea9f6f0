"""RESP2/RESP3 reply normalisers, shared by every plan and decoder in ``_core``.

redis-py hands a decoder bytes or str (with ``decode_responses``), flat lists (RESP2,
and every Lua script reply) or dicts and lists of pairs (RESP3 maps, ``WITHSCORES``).
Plans must read a reply the same way whichever protocol the connection speaks, so these
helpers accept every shape, and no module keeps its own copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph_redis._core.errors import CorruptDataError, UnsupportedFormatError


def text(value: Any) -> str:
    """A reply element as text (bytes are UTF-8; anything else through ``str``)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def pairs(raw: Any) -> list[tuple[Any, Any]]:
    """A map-like reply as (key, value) pairs: a dict (RESP3), a list of two-element
    lists (RESP3 ``WITHSCORES``) or a flat list (RESP2, scripts). Elements stay raw."""
    if isinstance(raw, Mapping):
        return list(raw.items())
    if raw and isinstance(raw[0], (list, tuple)):
        return [(a, b) for a, b in raw]
    return list(zip(raw[::2], raw[1::2], strict=False))


def text_pairs(raw: Any) -> list[tuple[str, Any]]:
    """:func:`pairs` with each key as text (``HGETALL``: fields are names, values stay raw)."""
    return [(text(k), v) for k, v in pairs(raw)]


def as_map(raw: Any) -> dict[str, Any]:
    """A map-like reply as a dict keyed by text; anything that is no map gives ``{}``."""
    if isinstance(raw, (Mapping, list, tuple)):
        return dict(text_pairs(raw))
    return {}


def check_format(found: Any, expected: str | tuple[str, ...], where: str) -> None:
    """Refuse stored data this release cannot read, before decoding any of it.

    No format field means the data was not written by langgraph-redis (or is damaged);
    another format means a newer release wrote it, and reading it as ours would misread it.
    ``expected`` is the one format this release reads, or every format it reads.

    Raises:
        CorruptDataError: ``found`` is missing or empty.
        UnsupportedFormatError: ``found`` is not one of ``expected``.
    """
    if found is None or found == b"" or found == "":
        raise CorruptDataError(f"{where}: no format field (not written by langgraph-redis?)")
    readable = (expected,) if isinstance(expected, str) else expected
    if text(found) not in readable:
        raise UnsupportedFormatError(
            f"{where}: stored with format {text(found)!r}; this release reads "
            f"format {' or '.join(map(repr, readable))}. Upgrade langgraph-redis."
        )
