"""Channel deltas: store the appended tail of a list channel, not the whole list again.

A conversation's ``messages`` channel grows by a message or two per step; stored whole at
every version, a thread costs O(n^2). When a channel's new value *extends* a list this
writer stored earlier in the same thread and namespace, the blob holds only the new tail
and the key of that earlier blob (its *base*)::

    delta\\0<base version>\\0<length of the base blob>\\0<type>\\0<payload of the tail list>

The base is named by its version (as encoded in its key): it is the blob of the same
thread, namespace and channel at that version, so the reference is a few dozen bytes and
a copied thread's deltas point into the copy without rewriting.

The tail is serialized by the saver's own serializer (encrypted ones included), so every
part stays the serializer's opaque bytes. A reader (the ``GET_TUPLE`` script) follows
the bases server-side and returns every part; :func:`assemble` concatenates the lists.

Why a delta is never wrong:

- The writer decides from what *it* stored (:class:`DeltaCache`): the items it put
  (compared by identity) and the items as the serializer read them back (compared by
  equality, which catches an item mutated in place since). Any doubt, and anything that
  is not a ``list``, gives a full value; a writer that knows nothing (another process, a
  restart, an evicted entry) writes full values.
- The write script checks, atomically with the write, that the base still exists and
  has the length the writer stored; otherwise it writes nothing and the saver resends
  the checkpoint with full values.
- Blob keys name a channel version, and versions are unique per write
  (``get_next_version`` adds a random tiebreak), so a base is never rewritten.

Chains are bounded: a full value is written after :data:`MAX_DEPTH` deltas, or as soon
as the deltas since the last full value would outgrow it; so a read assembles at most
``MAX_DEPTH + 1`` parts and, for a growing list, full values are written at sizes that
at least double, which keeps storage linear in the final size (see docs/design.md). A
list written back unchanged adds no link: its blob repeats the last delta's base and
tail, so a thread whose list stays put keeps reads as short as its last growth left them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_redis._core.checkpoint.serde import dump_typed, load_typed
from langgraph_redis._core.errors import CorruptDataError

DELTA = b"delta\0"
"""First bytes of a delta blob (like ``EMPTY``, a type name the serializer never gives)."""

MAX_DEPTH = 256
"""Deltas in a row before a full value; a read assembles at most this many + 1 parts.

A part costs the reader about what one more item in a full value would (measured: the
deserializer's per-call overhead is small next to a message's), and the server a ``GET``;
a larger bound keeps storage linear for longer (up to ~2 x 256 one-item steps)."""

MAX_CHAIN = 10_000
"""Links a reader follows before calling a chain damaged (a cycle in foreign data)."""

CACHE_SIZE = 1024
"""Channels (thread, namespace, channel) a writer remembers; older ones get full values."""

CACHE_ITEMS = 50_000
"""List items a writer remembers in all (it holds a read-back copy of each, to catch
in-place mutation): bounds the client memory the cache costs, least recent out first."""


@dataclass(frozen=True)
class Written:
    """What this writer last stored for one channel of one thread and namespace."""

    key: str
    """The blob key."""
    length: int
    """Bytes stored at ``key`` (the write script checks it before extending the blob)."""
    items: tuple[Any, ...]
    """The items put, compared by identity."""
    stored: list[Any] | bytes
    """The items as stored, read back through the serializer and compared by equality;
    after a full value, its bytes, read back only when the next value starts with the
    same objects (so a list replaced at every step never pays for a read-back)."""
    depth: int
    """Deltas since the last full value (0: this blob is a full value)."""
    full_bytes: int
    """Size of that full value."""
    delta_bytes: int
    """Bytes of the tails written on top of it (this one included); past ``full_bytes``
    a full value is written, so full values at least double in size."""
    base: tuple[str, int, bytes] | None = None
    """For a delta: its base's key and length and its own typed tail, so that a value
    that did not grow can be written as this delta's sibling (see :func:`blob_value`)."""


class DeltaCache:
    """A bounded LRU of :class:`Written`, keyed by ``(thread, namespace, channel)``.

    Thread-safe (the sync savers call it from their bridge's loop thread; a saver may
    be shared). Entries change only after the write they describe succeeded.
    """

    def __init__(self, size: int = CACHE_SIZE, items: int = CACHE_ITEMS) -> None:
        self._size = size
        self._max_items = items
        self._items = 0
        self._entries: OrderedDict[tuple[str, str, str], Written] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, thread_id: str, ns: str, channel: str) -> Written | None:
        with self._lock:
            found = self._entries.get((thread_id, ns, channel))
            if found is not None:
                self._entries.move_to_end((thread_id, ns, channel))
            return found

    def update(self, thread_id: str, ns: str, changes: dict[str, Written | None]) -> None:
        with self._lock:
            for channel, entry in changes.items():
                key = (thread_id, ns, channel)
                old = self._entries.pop(key, None)
                if old is not None:
                    self._items -= len(old.items)
                if entry is not None:
                    self._entries[key] = entry
                    self._items += len(entry.items)
            while self._entries and (
                len(self._entries) > self._size or self._items > self._max_items
            ):
                self._items -= len(self._entries.popitem(last=False)[1].items)

    def forget(self, thread_id: str) -> None:
        """Drop everything known of a thread (its blobs may be gone)."""
        with self._lock:
            for key in [k for k in self._entries if k[0] == thread_id]:
                self._items -= len(self._entries.pop(key).items)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._items = 0


def _extends(
    serde: SerializerProtocol, value: list[Any], prev: Written, what: str
) -> list[Any] | None:
    """The items ``prev`` stored, as read back, if ``value`` starts with exactly them
    (the same objects, unchanged since); else None."""
    n = len(prev.items)
    if len(value) < n or not all(a is b for a, b in zip(value, prev.items)):
        return None
    stored = prev.stored
    if isinstance(stored, bytes):
        stored = load_typed(serde, stored, what)
        if not isinstance(stored, list) or len(stored) != n:
            return None  # the serializer does not give this list back: never extend it
    return stored if value[:n] == stored else None


def encode_delta(base_key: str, base_length: int, tail: bytes) -> bytes:
    """A delta blob on ``base_key``: its version and length, then the typed tail."""
    version = base_key.rpartition(":")[2]
    return DELTA + version.encode() + b"\0" + str(base_length).encode() + b"\0" + tail


def base_key(key: str, raw: bytes) -> str:
    """The key of the base of the delta ``raw`` stored at ``key``."""
    return key.rpartition(":")[0] + ":" + parse_delta(raw)[0]


def parse_delta(raw: bytes) -> tuple[str, int, bytes]:
    """``(encoded base version, base length, typed tail)`` of a delta blob."""
    body = raw[len(DELTA) :]
    base, sep1, rest = body.partition(b"\0")
    length, sep2, tail = rest.partition(b"\0")
    if not (sep1 and sep2 and length.isdigit()):
        raise ValueError("malformed delta header")
    return base.decode(), int(length), tail


def is_delta(raw: Any) -> bool:
    return isinstance(raw, bytes) and raw.startswith(DELTA)


def blob_value(
    serde: SerializerProtocol,
    key: str,
    channel: str,
    value: Any,
    prev: Written | None,
) -> tuple[bytes, Written | None]:
    """The bytes to store for a channel value at ``key``, and what to remember of it.

    A delta on ``prev`` when ``value`` extends it and the chain may grow; else the full
    value. Only plain lists are remembered: nothing else is ever written as a delta.
    """
    what = f"channel {channel!r}"
    if type(value) is not list:
        return dump_typed(serde, value, what), None
    before = None
    if prev is not None and prev.key != key and prev.depth < MAX_DEPTH:
        before = _extends(serde, value, prev, what)
    if prev is not None and before is not None:
        new = value[len(prev.items) :]
        if not new and prev.base is not None:
            # The list did not grow (a node wrote it back unchanged): a delta on ``prev``
            # would add a link that every later read follows, so a thread whose list
            # stays put would read ``MAX_DEPTH`` parts. ``prev``'s sibling (the same
            # base and tail) holds the same value one link shorter; its tail is counted
            # again, so a long run of these still ends in a full value.
            sib_key, sib_length, sib_tail = prev.base
            grown = prev.delta_bytes + len(sib_tail)
            if grown <= prev.full_bytes:
                raw = encode_delta(sib_key, sib_length, sib_tail)
                return raw, Written(
                    key,
                    len(raw),
                    prev.items,
                    before,
                    prev.depth,
                    prev.full_bytes,
                    grown,
                    prev.base,
                )
        tail = dump_typed(serde, new, what)
        raw = encode_delta(prev.key, prev.length, tail)
        if prev.delta_bytes + len(tail) <= prev.full_bytes:
            stored = load_typed(serde, tail, what)
            if isinstance(stored, list) and len(stored) == len(new):
                return raw, Written(
                    key,
                    len(raw),
                    prev.items + tuple(new),
                    before + stored,
                    prev.depth + 1,
                    prev.full_bytes,
                    prev.delta_bytes + len(tail),
                    (prev.key, prev.length, tail),
                )
    raw = dump_typed(serde, value, what)
    return raw, Written(key, len(raw), tuple(value), raw, 0, len(raw), 0)


def assemble(serde: SerializerProtocol, parts: Sequence[Any], what: str) -> Any:
    """A channel value from its chain: ``parts`` newest first, the full value last.

    Raises:
        CorruptDataError: a base is missing (expired or deleted out from under the
            chain), has another length than the delta recorded, or a part is not a list.
    """
    if not parts:
        raise CorruptDataError(f"{what}: empty delta chain")
    full = parts[-1]
    if full is None or is_delta(full):
        raise CorruptDataError(f"{what}: the base of a delta is missing (expired or deleted?)")
    value = load_typed(serde, full, f"{what}, base value")
    if not isinstance(value, list):
        raise CorruptDataError(f"{what}: the base of a delta is not a list")
    below = full
    for part in reversed(parts[:-1]):
        try:
            _, length, tail = parse_delta(part)
        except (ValueError, UnicodeDecodeError) as exc:
            raise CorruptDataError(f"{what}: damaged delta") from exc
        if length != len(below):
            raise CorruptDataError(f"{what}: a delta's base was replaced (length differs)")
        items = load_typed(serde, tail, f"{what}, delta")
        if not isinstance(items, list):
            raise CorruptDataError(f"{what}: a delta is not a list")
        value.extend(items)
        below = part
    return value
