"""RESP2/RESP3 reply normalisers, shared by every plan and decoder in ``_core``.

redis-py hands a decoder bytes or str (with ``decode_responses``), flat lists (RESP2,
and every Lua script reply) or dicts and lists of pairs (RESP3 maps, ``WITHSCORES``).
Plans must read a reply the same way whichever protocol the connection speaks, so these
helpers accept every shape, and no module keeps its own copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


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


def as_map(raw: Any) -> dict[str, Any]:
    """A map-like reply as a dict keyed by text; anything that is no map gives ``{}``."""
    if isinstance(raw, (Mapping, list, tuple)):
        return {text(k): v for k, v in pairs(raw)}
    return {}
