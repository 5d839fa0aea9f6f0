"""Store items: the item format, its TAG digests, and item reads (gets, TTL refresh).

The writes (scripts, put preparation, the write plan) live in :mod:`.writes`.

Every engine reads and writes the same HASH layout (:mod:`langgraph_redis._core.store.keys`),
so one data set serves the plain engine and the query engine without migration; the
engines differ only in how ``search`` finds candidates (:mod:`.engines`).

Invariants:

* every write to one item is one script on the namespace's slot (item, vectors, key
  set, stamps and version counter change together); the namespace index is updated by
  idempotent side commands, and reconciled by the writer whenever a namespace is
  created or emptied, so concurrent writers never leave it missing a namespace that
  holds items (or naming one that does not);
* a namespace's version counter changes on every put or delete in it, and starts from a
  random base when the namespace is (re)created, so a cache keyed by version never
  mistakes a recreated namespace for the one it saw;
* nothing here performs I/O: plans yield batches and read their replies.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from langgraph.store.base import GetOp, Item

from langgraph_redis._core.errors import CorruptDataError
from langgraph_redis._core.plans import Batch, Op, Plan, Script, batch, check
from langgraph_redis._core.replies import check_format
from langgraph_redis._core.replies import text as _text
from langgraph_redis._core.store import keys as sk

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
NO_EXPIRY = "+inf"

ITEM_FORMAT = "1"
"""``fmt`` field of every item hash; an item from a newer format is refused, not misread."""

ITEM_TAG = "i"
"""``nsi`` value every indexed item carries (digests are hex, never ``i``): a search
without a query over every namespace selects the item documents by it."""


# --------------------------------------------------------------------------- time


def now_us(seconds: float) -> int:
    return int(seconds * 1_000_000)


def to_datetime(us: Any) -> datetime:
    return EPOCH + timedelta(microseconds=int(_text(us)))


# --------------------------------------------------------------------------- tags


def ns_digest(nst: str) -> str:
    """TAG value standing for one namespace prefix (hex, so no query escaping)."""
    import hashlib

    return hashlib.blake2b(b"ns\x00" + nst.encode(), digest_size=8).hexdigest()


UA_MAX = 1 << 64


def item_ns_tags(namespace: tuple[str, ...]) -> str:
    """``nsi`` of an item: :data:`ITEM_TAG` and the digest of each namespace prefix."""
    return ",".join(
        [ITEM_TAG, *(ns_digest(sk.ns_text(namespace[: i + 1])) for i in range(len(namespace)))]
    )


def order_key(ua_us: int, namespace: tuple[str, ...], key: str) -> str:
    """Text whose byte order is the order of a search without a query: newest update
    first, then namespace (as a tuple), then key, as the snapshot path sorts.

    The query engine sorts by one field; ``updated_at`` alone ties for every put of a
    batch. Hex of: the complement of ``ua``, then each label's UTF-8 (NUL as 00 02)
    closed by 00 01, the namespace closed by 00 00, then the key (UTF-8 byte order is
    code point order, hex keeps byte order, and a shorter tuple sorts first as in Python).
    """

    def part(text: str) -> bytes:
        return text.encode("utf-8", "surrogatepass").replace(b"\x00", b"\x00\x02")

    body = b"".join(part(label) + b"\x00\x01" for label in namespace) + b"\x00\x00"
    return f"{UA_MAX - 1 - ua_us:016x}" + (body + part(key)).hex()


def ns_prefix_tags(namespace: tuple[str, ...]) -> str:
    return ",".join(ns_digest(sk.ns_text(namespace[: i + 1])) for i in range(len(namespace)))


REFRESH_ITEM = Script(
    "refresh_item",
    """
local ttl = redis.pcall('HGET', KEYS[1], 'ttl')
if type(ttl) ~= 'string' then return 0 end
if not string.match(ttl, '^%d+$') then return -1 end  -- damaged: the get says so
local nv = tonumber(redis.call('HGET', KEYS[1], 'nv') or '0') or 0
redis.call('PEXPIRE', KEYS[1], ttl)
for i = 0, nv - 1 do redis.call('PEXPIRE', ARGV[1] .. i, ttl) end
redis.call('ZADD', KEYS[2], 'XX', tonumber(ARGV[3]) + tonumber(ttl), ARGV[2])
return 1
""",
)

# --------------------------------------------------------------------------- reads


ITEM_FIELDS = ("value", "ca", "ua", "fmt")
"""What a get reads of an item hash (``HMGET``), in this order."""


def _where(namespace: tuple[str, ...], key: str) -> str:
    """How errors and warnings name an item: namespace and key, never the value."""
    return f"store item {namespace}/{key!r}"


def check_item_format(fmt: Any, namespace: tuple[str, ...], key: str) -> None:
    """Refuse an item written by an unknown (newer) format; no format means foreign data."""
    check_format(fmt, ITEM_FORMAT, _where(namespace, key))


def parse_value(raw: Any, namespace: tuple[str, ...], key: str) -> dict[str, Any]:
    """The stored JSON object, or :class:`CorruptDataError` (the message omits the value)."""
    try:
        value = json.loads(raw)
    except (ValueError, TypeError):
        raise CorruptDataError(f"{_where(namespace, key)}: value is not JSON") from None
    if not isinstance(value, dict):
        raise CorruptDataError(f"{_where(namespace, key)}: value is not a JSON object")
    return value


def _int(raw: Any, namespace: tuple[str, ...], key: str, name: str) -> int:
    try:
        return int(_text(raw))
    except (ValueError, TypeError):
        raise CorruptDataError(
            f"{_where(namespace, key)}: field {name!r} is not an integer"
        ) from None


def _time(raw: Any, namespace: tuple[str, ...], key: str, name: str) -> int:
    """A timestamp field (µs since the epoch) that a ``datetime`` can hold."""
    value = _int(raw, namespace, key, name)
    try:
        to_datetime(value)
    except (OverflowError, ValueError):
        raise CorruptDataError(f"{_where(namespace, key)}: field {name!r} is not a time") from None
    return value


def _wrong_type(reply: Any) -> bool:
    return isinstance(reply, BaseException) and str(reply).startswith("WRONGTYPE")


def decode_item(namespace: tuple[str, ...], key: str, fields: Any) -> Item | None:
    """An ``HMGET`` of :data:`ITEM_FIELDS`: the item, None when absent, else an error.

    Raises:
        CorruptDataError: The key holds no hash, or a hash that is not a store item.
        UnsupportedFormatError: The item was written by a newer format.
    """
    if _wrong_type(fields):
        raise CorruptDataError(f"{_where(namespace, key)}: the key holds no hash (foreign data?)")
    if isinstance(fields, BaseException):
        raise fields
    if not fields or all(f is None for f in fields):
        return None
    raw, ca, ua, fmt = fields[:4]
    if raw is None or ua is None:
        raise CorruptDataError(f"{_where(namespace, key)}: hash lacks the item fields")
    check_item_format(fmt, namespace, key)
    return Item(
        value=parse_value(raw, namespace, key),
        key=key,
        namespace=namespace,
        created_at=to_datetime(_time(ca if ca is not None else ua, namespace, key, "ca")),
        updated_at=to_datetime(_time(ua, namespace, key, "ua")),
    )


def refresh_command(prefix: str, namespace: tuple[str, ...], key: str, now_ms: int) -> Op:
    nst = sk.ns_text(namespace)
    return REFRESH_ITEM.call(
        (sk.item_key(prefix, nst, key), sk.keys_key(prefix, nst)),
        (sk.vec_key_base(prefix, nst, key), key, now_ms),
    )


def plan_get(
    prefix: str, ops: Sequence[GetOp], now_ms: int, *, inline_refresh: bool = True
) -> Plan[list[Item | None]]:
    """One round trip for every get of a batch.

    ``inline_refresh`` (a store with a TTL configuration): the TTL-refresh script rides
    along with each get that renews, whether or not the item carries a TTL. Without it
    (no TTL configured, where most items carry none) the gets read the item's ``ttl``
    field instead and renew only the items that carry one, in a second round trip: the
    common get then sends no script at all.
    """
    if not inline_refresh and any(op.refresh_ttl for op in ops):
        return _plan_get_then_refresh(prefix, ops, now_ms)
    cmds: list[Op] = []
    slots: list[int] = []
    for op in ops:
        nst = sk.ns_text(op.namespace)
        slots.append(len(cmds))
        cmds.append(("HMGET", sk.item_key(prefix, nst, op.key), *ITEM_FIELDS))
        if op.refresh_ttl:
            cmds.append(refresh_command(prefix, op.namespace, op.key, now_ms))

    def decode(replies: list[Any]) -> list[Item | None]:
        # A key holding no hash makes its own HMGET (and refresh) fail: that get raises
        # CorruptDataError naming the item, not redis-py's WRONGTYPE for the batch.
        check([r for r in replies if not _wrong_type(r)])
        items = [
            decode_item(op.namespace, op.key, replies[i]) for op, i in zip(ops, slots, strict=False)
        ]
        for op, i in zip(ops, slots, strict=False):
            if op.refresh_ttl and replies[i + 1] == -1:
                raise CorruptDataError(
                    f"{_where(op.namespace, op.key)}: field 'ttl' is not an integer"
                )
        return items

    return batch(cmds, decode)


def _plan_get_then_refresh(
    prefix: str, ops: Sequence[GetOp], now_ms: int
) -> Generator[Batch[Any], list[Any], list[Item | None]]:
    """:func:`plan_get` without inline refresh: read, then renew only items with a TTL."""

    def decode(replies: list[Any]) -> list[Any]:
        check([r for r in replies if not _wrong_type(r)])
        return replies

    replies = yield batch(
        [
            ("HMGET", sk.item_key(prefix, sk.ns_text(op.namespace), op.key), *ITEM_FIELDS, "ttl")
            for op in ops
        ],
        decode,
    )
    items = [decode_item(op.namespace, op.key, r) for op, r in zip(ops, replies, strict=True)]
    due: list[tuple[tuple[str, ...], str]] = []
    for op, item, fields in zip(ops, items, replies, strict=True):
        ttl = fields[len(ITEM_FIELDS)]
        if not op.refresh_ttl or item is None or ttl is None:
            continue
        if not _text(ttl).isdigit() or not _text(ttl).isascii():
            # as the refresh script says of a damaged field (inline_refresh)
            raise CorruptDataError(f"{_where(op.namespace, op.key)}: field 'ttl' is not an integer")
        due.append((op.namespace, op.key))
    if due:
        yield plan_refresh(prefix, due, now_ms)
    return items


def plan_refresh(
    prefix: str, items: Sequence[tuple[tuple[str, ...], str]], now_ms: int
) -> Batch[None]:
    def decode(replies: list[Any]) -> None:
        check(replies)

    return batch([refresh_command(prefix, ns, k, now_ms) for ns, k in items], decode)
