"""Decoding the data layout of langgraph-checkpoint-redis 0.4-0.5, and migration decisions.

Pure: no I/O. ``langgraph_redis._migrate`` reads the old keys, asks this module what
they mean and what is missing on the target, then writes through our own write path.

The old layout (Redis Stack: RedisJSON documents indexed by RediSearch):

- ``checkpoint:<thread>:<ns>:<checkpoint_id>``: JSON document of one checkpoint; the
  empty namespace is stored as ``__empty__``, an empty id as the nil UUID. Its pending
  writes are ``checkpoint_write:<thread>:<ns>:<id>:<task_id>:<idx>`` documents. These are
  read through the old package's own saver (``list``, ``get_tuple``), which knows how its
  0.4/0.5 serializer encoded channel values, sends and writes; this module only finds
  threads and decides what is missing.
- ``store:<ulid>``: JSON ``{prefix, key, value, created_at, updated_at}``: ``prefix`` is
  the namespace joined with ``.`` then RediSearch-escaped (a backslash before every
  punctuation character), timestamps are microseconds since the epoch. A value that was
  not plain JSON was wrapped as ``{"__serde_type__", "__serde_data__"}``. The item's TTL
  is the key's own expiry (the configured minutes are not stored).
- ``store_vectors:<same ulid>``: at most one vector per item (JSON ``embedding`` list or
  a HASH with float32 bytes) and the ``field_name`` (path) it was computed from.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langgraph_redis._core.checkpoint.keys import ThreadKeys
from langgraph_redis._core.store import keys as sk

OLD_CHECKPOINT_PREFIX = "checkpoint"
OLD_WRITES_PREFIX = "checkpoint_write"
OLD_STORE_PREFIX = "store"
OLD_VECTOR_PREFIX = "store_vectors"
EMPTY_STRING_SENTINEL = "__empty__"
EMPTY_ID_SENTINEL = "00000000-0000-0000-0000-000000000000"
SERDE_KEYS = frozenset({"__serde_type__", "__serde_data__"})

_UNESCAPE = re.compile(r"\\(.)")


def text(raw: Any) -> str:
    """A reply as text (clients may or may not decode responses)."""
    if isinstance(raw, bytes):
        return raw.decode()
    return str(raw)


def from_storage_safe(value: str) -> str:
    """Undo the old package's sentinels for the empty string and the empty id."""
    return "" if value in (EMPTY_STRING_SENTINEL, EMPTY_ID_SENTINEL) else value


def decode_namespace(prefix: str) -> tuple[str, ...]:
    """The namespace tuple of an old store document, exactly as the old store decodes it.

    The old store escapes after joining with ``.``, so a label containing ``.`` cannot be
    told apart from two labels; like the old package, we split on every ``.``.
    """
    return tuple(_UNESCAPE.sub(r"\1", prefix).split("."))


def scan_pattern(prefix: str) -> str:
    """SCAN MATCH pattern for keys directly under ``prefix:`` (glob characters escaped)."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + ":*"


def first_json(reply: Any) -> Any:
    """JSON.GET with one ``$`` path returns a list of matches; unwrap it."""
    if isinstance(reply, (bytes, str)):
        reply = json.loads(reply)
    if isinstance(reply, list):
        return reply[0] if reply else None
    return reply


@dataclass
class CheckpointRef:
    """Where one old checkpoint document belongs: thread and namespace."""

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    ttl_ms: int | None


def decode_checkpoint_ref(doc: Any, pttl: Any) -> CheckpointRef | None:
    """Thread, namespace and id of an old checkpoint document (None when not one)."""
    doc = first_json(doc)
    if not isinstance(doc, Mapping) or "thread_id" not in doc or "checkpoint_id" not in doc:
        return None
    ttl = int(pttl) if isinstance(pttl, (int, str, bytes)) else -1
    return CheckpointRef(
        from_storage_safe(text(doc["thread_id"])),
        from_storage_safe(text(doc.get("checkpoint_ns", ""))),
        from_storage_safe(text(doc["checkpoint_id"])),
        ttl if ttl > 0 else None,
    )


@dataclass
class OldStoreItem:
    """One item of the old store, decoded (the value is still the stored JSON)."""

    doc_key: str
    namespace: tuple[str, ...]
    key: str
    value: Any
    created_us: int
    updated_us: int
    ttl_ms: int | None  # remaining life of the key, None when it does not expire
    vector: list[float] | None = None
    vector_path: str | None = None


@dataclass
class Skip:
    """Something that was not copied, and why (shown in the report)."""

    kind: str  # "item", "vector", "checkpoint", "thread"
    what: str
    reason: str


def decode_store_doc(doc_key: str, doc: Any, pttl: Any) -> OldStoreItem | Skip:
    """An old store document as an item, or why it cannot be copied.

    A value the old store had to wrap (``__serde_type__``) held objects that are not JSON
    (LangChain messages, bytes...): our store keeps JSON objects only, so it is skipped
    with that reason rather than silently flattened.
    """
    doc = first_json(doc)
    if not isinstance(doc, Mapping):
        return Skip("item", doc_key, "not a JSON document (key expired or foreign data)")
    try:
        namespace = decode_namespace(text(doc["prefix"]))
        key = text(doc["key"])
        created = int(doc["created_at"])
        updated = int(doc["updated_at"])
    except (KeyError, TypeError, ValueError):
        return Skip("item", doc_key, "missing prefix, key or timestamps")
    where = f"{namespace}/{key!r}"
    value = doc.get("value")
    if isinstance(value, Mapping) and set(value) == SERDE_KEYS:
        return Skip(
            "item",
            where,
            f"value was stored by the old serializer ({value['__serde_type__']}: objects "
            "that are not JSON, e.g. LangChain messages); langgraph-redis stores JSON objects",
        )
    if not isinstance(value, Mapping):
        return Skip("item", where, f"value is a {type(value).__name__}, not a JSON object")
    ttl = int(pttl) if isinstance(pttl, (int, str, bytes)) else -1
    if ttl == -2:
        return Skip("item", where, "expired while being read")
    return OldStoreItem(
        doc_key, namespace, key, dict(value), created, updated, ttl if ttl > 0 else None
    )


def decode_vector(reply: Any) -> tuple[list[float] | None, str | None]:
    """Embedding and path of an old vector document (JSON or HASH), or ``(None, None)``.

    ``reply`` is the JSON.GET document, or the HASH as a field mapping.
    """
    if reply is None or isinstance(reply, BaseException):
        return None, None
    if isinstance(reply, Mapping) and any(isinstance(k, bytes) for k in reply):
        fields = {text(k): v for k, v in reply.items()}
        raw = fields.get("embedding")
        if not isinstance(raw, bytes) or len(raw) % 4:
            return None, None
        vec = list(struct.unpack(f"<{len(raw) // 4}f", raw))
        path = fields.get("field_name")
        return vec, None if path is None else text(path)
    doc = first_json(reply)
    if not isinstance(doc, Mapping):
        return None, None
    emb = doc.get("embedding")
    if not isinstance(emb, list) or not all(isinstance(x, (int, float)) for x in emb):
        return None, None
    path = doc.get("field_name")
    return [float(x) for x in emb], None if path is None else str(path)


def vector_doc_key(item_doc_key: str, store_prefix: str, vector_prefix: str) -> str:
    """The old vector document shares the item document's ULID."""
    return vector_prefix + item_doc_key[len(store_prefix) :]


def item_is_current(target: Sequence[Any] | None, item: OldStoreItem) -> bool:
    """Whether the target already holds this item: ``target`` is its ``(ca, ua)``.

    Copied means our ``created_at`` is the source's and our ``updated_at`` is the
    source's or later (an item changed on the target since the copy is kept). A copy
    interrupted between the put and the timestamp fix has ``ca`` = the time of the put,
    so it is copied again; the old store gives an updated item a new ``created_at``, so
    a source item updated since the last run is copied again too.
    """
    if target is None or isinstance(target, BaseException) or len(target) != 2:
        return False
    ca, ua = target
    if ca is None or ua is None:
        return False
    try:
        return int(text(ca)) == item.created_us and int(text(ua)) >= item.updated_us
    except ValueError:
        return False


def item_key(prefix: str, namespace: tuple[str, ...], key: str) -> str:
    """Our key of a store item (to read its ``ua`` and restore its timestamps)."""
    return sk.item_key(prefix, sk.ns_text(namespace), key)


def restore_timestamps(prefix: str, item: OldStoreItem) -> tuple[Any, ...]:
    """The one command our public write path cannot express: set the item's
    ``created_at``/``updated_at`` (``ca``/``ua``, microseconds) to the source's, after the
    put wrote them as "now". No index reads them (searches order by score or key, the
    expiry index holds expiry times), so an HSET is all it takes. Until it runs, the
    item's ``ua`` differs from the source's, so an interrupted run copies it again."""
    return (
        "HSET",
        item_key(prefix, item.namespace, item.key),
        "ca",
        item.created_us,
        "ua",
        item.updated_us,
    )


def present_commands(
    prefix: str, thread_id: str, namespaces: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Which checkpoint ids of these namespaces the target already has (one ZRANGE each)."""
    keys = ThreadKeys(prefix, thread_id)
    return [("ZRANGE", keys.index(ns), 0, -1) for ns in namespaces]


def write_count_command(
    prefix: str, thread_id: str, ns: str, checkpoint_id: str
) -> tuple[Any, ...]:
    """How many pending writes the target holds for one checkpoint."""
    return ("HLEN", ThreadKeys(prefix, thread_id).writes(ns, checkpoint_id))


def writes_missing(target_count: int, source_writes: Sequence[Any]) -> bool:
    """A checkpoint's writes are incomplete on the target (the copy was interrupted
    between the checkpoint and its writes): put them again (``put_writes`` is idempotent)."""
    return target_count < len(source_writes)


def fuller(listed: Sequence[Any], got: Sequence[Any]) -> Sequence[Any]:
    """The old package's two read paths disagree on some checkpoints' pending writes
    (``get_tuple`` drops some that ``list`` returns); every stored write is copied."""
    return listed if len(listed) >= len(got) else got


def group_writes(writes: Sequence[tuple[str, str, Any]]) -> list[tuple[str, list[tuple[str, Any]]]]:
    """Pending writes ``(task_id, channel, value)`` grouped per task, order kept, as
    ``put_writes`` takes them (one call per task)."""
    out: list[tuple[str, list[tuple[str, Any]]]] = []
    index: dict[str, int] = {}
    for task_id, channel, value in writes:
        if task_id not in index:
            index[task_id] = len(out)
            out.append((task_id, []))
        out[index[task_id]][1].append((channel, value))
    return out


@dataclass
class MigrationReport:
    """What a migration copied, found already there, and skipped (with reasons)."""

    dry_run: bool = False
    threads: int = 0  # threads seen in the source
    threads_copied: int = 0  # threads with at least one checkpoint or write copied
    checkpoints: int = 0  # seen
    checkpoints_copied: int = 0
    checkpoints_present: int = 0  # already on the target
    writes_copied: int = 0
    items: int = 0  # seen
    items_copied: int = 0
    items_present: int = 0
    vectors_copied: int = 0
    items_reembedded: int = 0
    checkpoint_keys_with_ttl: int = 0
    skipped: list[Skip] = field(default_factory=list)
    seconds_threads: float = 0.0
    seconds_store: float = 0.0

    @property
    def checkpoints_per_second(self) -> float:
        return self.checkpoints_copied / self.seconds_threads if self.seconds_threads else 0.0

    @property
    def items_per_second(self) -> float:
        return self.items_copied / self.seconds_store if self.seconds_store else 0.0

    def merge(self, part: MigrationReport) -> None:
        """Add the counts of one thread's copy (made by a worker) to this report."""
        for name in (
            "threads_copied",
            "checkpoints",
            "checkpoints_copied",
            "checkpoints_present",
            "writes_copied",
        ):
            setattr(self, name, getattr(self, name) + getattr(part, name))
        self.skipped += part.skipped

    def summary(self) -> str:
        """The final report, readable in a terminal."""
        verb = "would copy" if self.dry_run else "copied"
        lines = [
            f"threads:     {self.threads} seen, {self.threads_copied} {verb}",
            f"checkpoints: {self.checkpoints} seen, {self.checkpoints_copied} {verb}, "
            f"{self.checkpoints_present} already there",
            f"writes:      {self.writes_copied} {verb}",
            f"items:       {self.items} seen, {self.items_copied} {verb}, "
            f"{self.items_present} already there; {self.vectors_copied} vectors {verb}"
            + (f", {self.items_reembedded} re-embedded" if self.items_reembedded else ""),
        ]
        if not self.dry_run and (self.checkpoints_copied or self.items_copied):
            lines.append(
                f"speed:       {self.checkpoints_per_second:.0f} checkpoints/s, "
                f"{self.items_per_second:.0f} items/s"
            )
        if self.checkpoint_keys_with_ttl:
            lines.append(
                f"note:        {self.checkpoint_keys_with_ttl} source checkpoints had a TTL; "
                "the target applies its own checkpoint TTL (--checkpoint-ttl) from now"
            )
        if self.skipped:
            lines.append(f"skipped:     {len(self.skipped)}")
            by_reason: dict[tuple[str, str], list[str]] = {}
            for s in self.skipped:
                by_reason.setdefault((s.kind, s.reason), []).append(s.what)
            for (kind, reason), whats in by_reason.items():
                shown = ", ".join(whats[:5]) + (" ..." if len(whats) > 5 else "")
                lines.append(f"  {len(whats)} {kind}(s): {reason}: {shown}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (``--json``)."""
        out = {k: v for k, v in self.__dict__.items() if k != "skipped"}
        out["skipped"] = [s.__dict__ for s in self.skipped]
        out["checkpoints_per_second"] = self.checkpoints_per_second
        out["items_per_second"] = self.items_per_second
        return out
