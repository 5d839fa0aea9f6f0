"""The node cache: keys, entry format and plans behind LangGraph's ``BaseCache``.

Layout (``P`` is the prefix, ``{T}`` the namespace tag: the label count, then the
percent-encoded labels joined by ``:``, so ``()`` and ``("",)`` differ):

========================  ======  ====================================================
``P:cache:{T}:e:K``       STRING  one entry: ``1 NUL <serializer type> NUL <bytes>``,
                                  with the entry's TTL as the key's own expiry
``P:cache:{T}:idx``       ZSET    entry keys of the namespace scored by expiry (ms,
                                  ``+inf`` = never); expires with its latest entry
``P:cache:namespaces``    ZSET    namespace tags scored by their latest expiry; the
                                  only cross-slot key, read by ``clear()``
========================  ======  ====================================================

Invariants:
- All keys of one namespace share its hash tag: one namespace's writes are one
  single-slot script, and ``get`` is one pipeline (routed per node on a cluster).
- ``clear`` never uses ``KEYS``/``SCAN``: it walks the registries, in bounded chunks.
  Nothing outlives its entries: the namespace set and the registry member expire at the
  latest expiry they index, and both are trimmed of expired members on every write.
- Each script's first write is ``SET``/``ZADD``, which the server refuses under
  ``maxmemory``, so a refused write leaves nothing behind.
- A read never raises for data: an entry that is missing, foreign, corrupt or of a newer
  format is a miss (a cache can always recompute), logged once per kind.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_redis._core.checkpoint.keys import encode
from langgraph_redis._core.plans import Batch, Plan, Script, batch, check, check_prefix
from langgraph_redis._core.replies import text

logger = logging.getLogger(__name__)

Namespace = tuple[str, ...]
FullKey = tuple[Namespace, str]

FORMAT = b"1"
"""Entry format version; an entry of any other version reads as a miss."""

CLEAR_CHUNK = 500
"""Entries (or namespaces) removed per script call: bounds the server's time per call."""

SET_ENTRIES = Script(
    "cache_set",
    """
local now = tonumber(ARGV[1])
local idx = KEYS[1]
local gone = {}
-- writes first (refused as a whole under maxmemory), deletions after
for i = 2, #KEYS do
  local ttl = tonumber(ARGV[2 * i - 2])
  if ttl > 0 then
    redis.call('SET', KEYS[i], ARGV[2 * i - 1], 'PX', ttl)
    redis.call('ZADD', idx, now + ttl, KEYS[i])
  elseif ttl < 0 then
    redis.call('SET', KEYS[i], ARGV[2 * i - 1])
    redis.call('ZADD', idx, 'inf', KEYS[i])
  else
    gone[#gone + 1] = KEYS[i]
  end
end
for _, key in ipairs(gone) do
  redis.call('UNLINK', key)
  redis.call('ZREM', idx, key)
end
redis.call('ZREMRANGEBYSCORE', idx, '-inf', '(' .. ARGV[1])
local top = redis.call('ZRANGE', idx, -1, -1, 'WITHSCORES')
if #top == 0 then
  return 0
end
if top[2] == 'inf' then
  redis.call('PERSIST', idx)
else
  redis.call('PEXPIREAT', idx, top[2])
end
return top[2]
""",
)

TOUCH_REGISTRY = Script(
    "cache_registry",
    """
-- ARGV: now, then (latest expiry or 'inf', tag) pairs; a member's score only grows
for i = 2, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], 'GT', ARGV[i], ARGV[i + 1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #top == 0 then
  return 0
end
if top[2] == 'inf' then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('PEXPIREAT', KEYS[1], top[2])
end
return 1
""",
)

CLEAR_NAMESPACE = Script(
    "cache_clear",
    """
-- removes up to ARGV[1] entries of one namespace; returns how many remain
local members = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #members > 0 then
  redis.call('UNLINK', unpack(members))
  redis.call('ZREM', KEYS[1], unpack(members))
end
return redis.call('ZCARD', KEYS[1])
""",
)

SCRIPTS = (SET_ENTRIES, TOUCH_REGISTRY, CLEAR_NAMESPACE)


@dataclass(frozen=True)
class CacheConfig:
    """What every cache plan needs: key prefix and serializer."""

    prefix: str
    serde: SerializerProtocol
    logged: set[str] = field(default_factory=set, compare=False, repr=False)
    """Kinds of unreadable entry already logged by this cache (each is logged once)."""

    def __post_init__(self) -> None:
        check_prefix(self.prefix)

    @property
    def registry(self) -> str:
        return f"{self.prefix}:cache:namespaces"

    def index(self, tag: str) -> str:
        return f"{self.prefix}:cache:{{{tag}}}:idx"

    def entry(self, tag: str, key: str) -> str:
        return f"{self.prefix}:cache:{{{tag}}}:e:{encode(key)}"


def namespace_tag(ns: Sequence[str]) -> str:
    """The hash tag of a namespace: label count, then the encoded labels.

    The count keeps ``()`` and ``("",)`` apart; encoding removes ``:`` and braces from
    labels, so the tag is unique per namespace and cannot end the hash tag early.
    """
    return ":".join([str(len(ns)), *(encode(label) for label in ns)])


def check_full_key(full_key: Any) -> FullKey:
    """Validate ``(namespace tuple, key)`` up front, with a hint for the usual slips."""
    if not (isinstance(full_key, tuple) and len(full_key) == 2):
        raise TypeError(f"a cache key is (namespace tuple, key str), got {full_key!r}")
    ns, key = full_key
    if isinstance(ns, str) or not isinstance(ns, tuple):
        raise TypeError(
            f"cache namespace must be a tuple of str, got {ns!r}; "
            "write ('graph',) rather than 'graph'"
        )
    if not all(isinstance(label, str) for label in ns) or not isinstance(key, str):
        raise TypeError(f"cache namespace labels and keys must be str, got {full_key!r}")
    return ns, key


# -- get -------------------------------------------------------------------------------


def _miss(cfg: CacheConfig, reason: str, key: str) -> None:
    # Once per kind of problem and cache: a damaged entry read by every run of a graph
    # must not flood the log, and must never fail the run (a miss recomputes the node).
    level = logging.DEBUG if reason in cfg.logged else logging.WARNING
    cfg.logged.add(reason)
    logger.log(level, "cache entry %s read as a miss: %s", key, reason)


def encode_entry(type_: str, data: bytes) -> bytes:
    """``1 NUL type NUL data``: the type name never holds NUL, the data may."""
    return b"%s\x00%s\x00%s" % (FORMAT, type_.encode("ascii"), data)


def decode_entry(cfg: CacheConfig, key: str, raw: Any) -> tuple[bool, Any]:
    """``(True, value)`` for a readable entry, ``(False, None)`` for a miss."""
    if raw is None:
        return False, None
    if isinstance(raw, BaseException):
        _miss(cfg, f"server error {type(raw).__name__}", key)
        return False, None
    if not isinstance(raw, bytes):
        _miss(cfg, f"unexpected reply type {type(raw).__name__}", key)
        return False, None
    version, sep, rest = raw.partition(b"\x00")
    type_, sep2, data = rest.partition(b"\x00")
    if not (sep and sep2):
        _miss(cfg, "not an entry written by langgraph-redis", key)
        return False, None
    if version != FORMAT:
        _miss(
            cfg, f"entry format {version[:8]!r} is not {FORMAT!r} (written by another version)", key
        )
        return False, None
    try:
        return True, cfg.serde.loads_typed((type_.decode("ascii"), data))
    except Exception as exc:  # any serializer failure is a miss, never a failed run
        _miss(cfg, f"payload does not deserialize ({type(exc).__name__})", key)
        return False, None


def plan_get(cfg: CacheConfig, keys: Sequence[FullKey]) -> Batch[dict[FullKey, Any]]:
    """One ``GET`` per key, one round trip; unreadable entries are left out."""
    wanted = list(dict.fromkeys(check_full_key(k) for k in keys))
    names = [cfg.entry(namespace_tag(ns), key) for ns, key in wanted]

    def decode(replies: list[Any]) -> dict[FullKey, Any]:
        found: dict[FullKey, Any] = {}
        for full_key, name, raw in zip(wanted, names, replies):
            ok, value = decode_entry(cfg, name, raw)
            if ok:
                found[full_key] = value
        return found

    return batch([("GET", name) for name in names], decode)


# -- set -------------------------------------------------------------------------------


def ttl_ms(ttl: Any) -> int:
    """Seconds (LangGraph's ``CachePolicy.ttl``) to ms; ``-1`` = never, ``0`` = drop."""
    if ttl is None:
        return -1
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl != ttl:
        raise TypeError(f"cache TTL must be seconds (int or float) or None, got {ttl!r}")
    if ttl <= 0:
        return 0
    return max(1, round(ttl * 1000))


def plan_set(
    cfg: CacheConfig, pairs: Mapping[FullKey, tuple[Any, Any]], *, now_ms: int
) -> Batch[None]:
    """Registry first, then one script per namespace; one round trip in all.

    The registry goes first so that ``clear()`` can always find what a write stored.
    Entries with a TTL of zero or less are removed rather than stored (they would be
    expired on arrival).
    """
    by_ns: dict[str, list[tuple[str, int, bytes]]] = {}
    for full_key, (value, ttl) in pairs.items():
        ns, key = check_full_key(full_key)
        tag = namespace_tag(ns)
        payload = encode_entry(*cfg.serde.dumps_typed(value))
        by_ns.setdefault(tag, []).append((cfg.entry(tag, key), ttl_ms(ttl), payload))
    if not by_ns:
        return batch([], lambda _: None)
    registry_args: list[str | int] = [now_ms]
    calls = []
    for tag, entries in by_ns.items():
        stored = [ms for _, ms, _ in entries if ms != 0]
        if stored:
            latest = "inf" if any(ms < 0 for ms in stored) else str(now_ms + max(stored))
            registry_args += [latest, tag]
        args: list[str | int | bytes] = [now_ms]
        for _, ms, payload in entries:
            args += [ms, payload]
        calls.append(SET_ENTRIES.call([cfg.index(tag), *(name for name, _, _ in entries)], args))
    if len(registry_args) > 1:
        calls.insert(0, TOUCH_REGISTRY.call([cfg.registry], registry_args))

    def decode(replies: list[Any]) -> None:
        check(replies)

    return batch(calls, decode, writes=True)


# -- clear -----------------------------------------------------------------------------


def _clear_tags(cfg: CacheConfig, tags: list[str]) -> Generator[Batch[Any], Any, None]:
    """Empty these namespaces chunk by chunk, then drop them from the registry."""
    left = list(dict.fromkeys(tags))
    while left:
        replies = yield batch(
            [CLEAR_NAMESPACE.call([cfg.index(tag)], [CLEAR_CHUNK]) for tag in left], writes=True
        )
        check(replies)
        left = [tag for tag, remaining in zip(left, replies) if int(remaining) > 0]
    if tags:
        check((yield batch([("ZREM", cfg.registry, *dict.fromkeys(tags))], writes=True)))


def plan_clear(cfg: CacheConfig, namespaces: Sequence[Namespace] | None) -> Plan[None]:
    """Delete the named namespaces, or every namespace in the registry.

    Without namespaces: read the registry a chunk at a time, empty those namespaces and
    remove them from it, until it is empty. Never ``KEYS``/``SCAN``; each script call
    removes at most :data:`CLEAR_CHUNK` entries.
    """
    if namespaces is not None:
        if isinstance(namespaces, str) or not all(
            isinstance(ns, tuple) and all(isinstance(label, str) for label in ns)
            for ns in namespaces
        ):
            raise TypeError(
                f"namespaces must be a sequence of tuples of str, got {namespaces!r}; "
                "write [('graph', 'node')] rather than ('graph', 'node')"
            )
        return _clear_tags(cfg, [namespace_tag(ns) for ns in namespaces])
    return _clear_all(cfg)


def _clear_all(cfg: CacheConfig) -> Generator[Batch[Any], Any, None]:
    while True:
        replies = yield batch([("ZRANGE", cfg.registry, 0, CLEAR_CHUNK - 1)])
        check(replies)
        tags = [text(t) for t in replies[0]]
        if not tags:
            return
        yield from _clear_tags(cfg, tags)
