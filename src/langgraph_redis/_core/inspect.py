"""The inspector's read-only plans and what its output means, without I/O.

Every plan here reads a bounded amount per call (one page of a registry, one page of a
thread's history, at most ``limit`` keys of a scan), so the inspector is safe against a
large production database: no ``KEYS``, no unbounded ``SMEMBERS`` of a global set.
Rendering (tables, colours) is pure too, so it is tested without a terminal.
"""

from __future__ import annotations

import datetime
import json
import re
import uuid
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langgraph.store.base import Item

from langgraph_redis._core.checkpoint.keys import ThreadKeys, thread_registry
from langgraph_redis._core.plans import Batch, batch, check
from langgraph_redis._core.replies import text
from langgraph_redis._core.store.items import ITEM_FIELDS, decode_item
from langgraph_redis._core.store.keys import (
    is_under,
    item_key,
    keys_key,
    ns_from_text,
    ns_index_key,
    ns_lex_range,
    ns_text,
)

# -- threads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ThreadRow:
    """One thread of the ``threads`` page: id, namespaces and checkpoint counts."""

    thread_id: str
    namespaces: tuple[str, ...]
    checkpoints: int
    latest_id: str | None


def plan_thread_page(prefix: str, offset: int, limit: int) -> Batch[tuple[int, list[str]]]:
    """Total thread count and one page of thread ids from the thread registry."""
    registry = thread_registry(prefix)

    def decode(replies: list[Any]) -> tuple[int, list[str]]:
        check(replies)
        return int(replies[0]), [text(t) for t in replies[1]]

    return batch(
        [("ZCARD", registry), ("ZRANGE", registry, offset, offset + max(limit, 1) - 1)], decode
    )


def plan_thread_namespaces(prefix: str, thread_ids: Sequence[str]) -> Batch[list[list[str]]]:
    """Each thread's checkpoint namespaces (a per-thread set: small by construction)."""

    def decode(replies: list[Any]) -> list[list[str]]:
        check(replies)
        return [sorted(text(ns) for ns in group) for group in replies]

    return batch([("SMEMBERS", ThreadKeys(prefix, t).namespaces) for t in thread_ids], decode)


def plan_thread_rows(
    prefix: str, thread_ids: Sequence[str], namespaces: Sequence[Sequence[str]]
) -> Batch[list[ThreadRow]]:
    """Checkpoint count and newest checkpoint id of every namespace of these threads."""
    commands: list[tuple[Any, ...]] = []
    for thread_id, nss in zip(thread_ids, namespaces):
        keys = ThreadKeys(prefix, thread_id)
        for ns in nss:
            commands.append(("ZCARD", keys.index(ns)))
            commands.append(("ZRANGE", keys.index(ns), -1, -1))

    def decode(replies: list[Any]) -> list[ThreadRow]:
        check(replies)
        rows: list[ThreadRow] = []
        at = 0
        for thread_id, nss in zip(thread_ids, namespaces):
            count, latest = 0, None
            for _ in nss:
                count += int(replies[at])
                newest = [text(x) for x in replies[at + 1]]
                if newest and (latest is None or newest[0] > latest):
                    latest = newest[0]
                at += 2
            rows.append(ThreadRow(thread_id, tuple(nss), count, latest))
        return rows

    return batch(commands, decode)


def checkpoint_time(checkpoint_id: str | None) -> str:
    """The UTC time inside a LangGraph checkpoint id (UUIDv6), or ``""``."""
    if not checkpoint_id:
        return ""
    try:
        u = uuid.UUID(checkpoint_id)
    except ValueError:
        return ""
    if u.version != 6:
        return ""
    # UUIDv6: 60-bit count of 100 ns intervals since 1582-10-15, high bits first.
    h = u.int >> 64
    ticks = ((h >> 16) << 12) | (h & 0x0FFF)
    seconds = (ticks - 0x01B21DD213814000) / 1e7
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


# -- history ---------------------------------------------------------------------------


def changed_channels(
    versions: Mapping[str, Any], parent_versions: Mapping[str, Any] | None
) -> list[str]:
    """Channels whose version differs from the parent checkpoint's (all, for a root)."""
    if parent_versions is None:
        return sorted(versions)
    return sorted(ch for ch, v in versions.items() if parent_versions.get(ch) != v)


# -- store -----------------------------------------------------------------------------


def plan_namespace_page(
    prefix: str, labels: tuple[str, ...], offset: int, limit: int
) -> Generator[Batch[Any], Any, list[tuple[tuple[str, ...], int]]]:
    """One page of the namespaces at or below ``labels``, with their item counts.

    A lex range of the namespace index with ``LIMIT`` (bounded), then one ``ZCARD`` per
    namespace. The range may hold a few siblings (``a-b`` next to ``a``), dropped here,
    so a page can be a little shorter than ``limit``.
    """
    fixed = ns_text(labels)
    lo, hi = ns_lex_range(fixed)
    replies = yield batch(
        [("ZRANGE", ns_index_key(prefix), lo, hi, "BYLEX", "LIMIT", offset, max(limit, 1))]
    )
    check(replies)
    found = [text(r) for r in replies[0]]
    found = [n for n in found if is_under(n, fixed)]
    if not found:
        return []
    counts = yield batch([("ZCARD", keys_key(prefix, n)) for n in found])
    check(counts)
    return [(ns_from_text(n), int(c)) for n, c in zip(found, counts)]


def plan_store_size(prefix: str) -> Batch[int]:
    """How many namespaces hold items."""
    return batch([("ZCARD", ns_index_key(prefix))], lambda r: int(r[0]))


def plan_item_page(
    prefix: str, labels: tuple[str, ...], offset: int, limit: int
) -> Generator[Batch[Any], Any, list[Item]]:
    """One page of the items of one namespace, in key-set order, read with ``HMGET``."""
    nst = ns_text(labels)
    replies = yield batch([("ZRANGE", keys_key(prefix, nst), offset, offset + max(limit, 1) - 1)])
    check(replies)
    keys = [text(k) for k in replies[0]]
    if not keys:
        return []
    fields = yield batch([("HMGET", item_key(prefix, nst, k), *ITEM_FIELDS) for k in keys])
    items = [decode_item(labels, k, f) for k, f in zip(keys, fields)]
    return [it for it in items if it is not None]


# -- stats -----------------------------------------------------------------------------

# (pattern after the prefix, kind); the first match wins. Saver keys carry a hash tag
# right after the prefix; store keys a one-letter kind first; cache keys "cache".
_KINDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), kind)
    for p, kind in (
        (r"^cache:\{[^}]*\}:e:", "cache entry"),
        (r"^cache:", "cache index"),
        (r"^\{[^}]*\}:cp:", "checkpoint"),
        (r"^\{[^}]*\}:b:", "channel value"),
        (r"^\{[^}]*\}:w:", "pending writes"),
        (r"^\{[^}]*\}:", "thread index"),
        (r"^threads$", "thread registry"),
        (r"^run:", "run index"),
        (r"^i:", "store item"),
        (r"^v:", "store vector"),
        (r"^[zsdc]:\{", "store index"),
        (r"^(ns|cfg|idx)$", "store registry"),
    )
)


def key_kind(prefix: str, key: str) -> str:
    """What a key under ``prefix`` holds, from its name (``other`` when unknown)."""
    if not key.startswith(prefix + ":"):
        return "other"
    rest = key[len(prefix) + 1 :]
    for pattern, kind in _KINDS:
        if pattern.search(rest):
            return kind
    return "other"


@dataclass
class KindStats:
    """Keys seen of one kind, memory measured on a sample of them, TTLs seen."""

    keys: int = 0
    sampled: int = 0
    sampled_bytes: int = 0
    with_ttl: int = 0
    ttls: list[int] = field(default_factory=list)

    @property
    def estimated_bytes(self) -> int:
        if not self.sampled:
            return 0
        return round(self.sampled_bytes / self.sampled * self.keys)


def summarize_ttls(ttls: Iterable[int]) -> str:
    """``min / median / max`` of TTLs in seconds, or ``-`` when none expire."""
    values = sorted(t for t in ttls if t >= 0)
    if not values:
        return "-"
    mid = values[len(values) // 2]
    return f"{_duration(values[0])} / {_duration(mid)} / {_duration(values[-1])}"


def _duration(ms: int) -> str:
    seconds = ms // 1000
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


# -- rendering -------------------------------------------------------------------------

_BOLD, _DIM, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"


def render_table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], *, color: bool = False
) -> str:
    """A plain-text table, columns padded to their widest cell; bold headers on a TTY."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(row: Sequence[str]) -> str:
        return "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()

    head = line(headers)
    lines = [f"{_BOLD}{head}{_RESET}" if color else head]
    lines += [line(row) for row in cells]
    return "\n".join(lines)


def dim(text: str, *, color: bool) -> str:
    return f"{_DIM}{text}{_RESET}" if color else text


def to_jsonable(value: Any) -> Any:
    """State for ``--json``: LangChain messages and pydantic models as dicts, the rest
    as JSON types or their ``repr``."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            dumped = dump()
        except Exception:  # a model that cannot dump itself is shown as repr
            return repr(value)
        return to_jsonable({"type": type(value).__name__, **dumped})
    return repr(value)


def pretty_value(value: Any, width: int = 100) -> str:
    """One channel value for a terminal: messages as ``role: content`` lines."""
    if isinstance(value, list) and value and all(hasattr(v, "content") for v in value):
        out = []
        for message in value:
            role = getattr(message, "type", type(message).__name__)
            content = message.content
            text = content if isinstance(content, str) else json.dumps(to_jsonable(content))
            out.append(f"  {role}: {clip(text, width)}")
        return "\n".join(out)
    text = json.dumps(to_jsonable(value), ensure_ascii=False, indent=2, sort_keys=True)
    return "\n".join("  " + ln for ln in text.splitlines())


def clip(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
