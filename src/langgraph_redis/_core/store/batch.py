"""Batch grouping: what one ``batch`` call validates, de-duplicates and embeds.

The store's shells run :func:`prepare_batch` before their first round trip, so a bad
operation anywhere in a batch fails it before anything is written or embedded; the
shell then embeds :attr:`PreparedBatch.texts` and :attr:`PreparedBatch.queries` and
runs the gets, searches, listings and the write plan. LangGraph's own stores keep this
grouping in their ``base.py`` for the same reason: it is pure, and the same for every
engine and for the sync and async shells.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from langgraph.store.base import (
    GetOp,
    InvalidNamespaceError,
    ListNamespacesOp,
    Op,
    PutOp,
    SearchOp,
    validate_op_namespace,
)

from langgraph_redis._core.store.config import VectorConfig
from langgraph_redis._core.store.filters import CompiledFilter, compile_filter
from langgraph_redis._core.store.writes import PreparedPut, prepare_puts


@dataclass(frozen=True)
class PreparedBatch:
    """One batch, checked and grouped before any I/O."""

    ops: list[Op]
    filters: dict[int, CompiledFilter]
    """Compiled filter of each search, by its position in :attr:`ops`."""
    puts: list[PreparedPut]
    """Puts and deletes to write, one per (namespace, key): the last one of a key wins."""
    texts: list[str]
    """Document texts to embed, in the order :func:`~.writes.plan_write` takes vectors."""
    queries: list[str]
    """Distinct search queries to embed (none without a vector config)."""

    @property
    def gets(self) -> list[tuple[int, GetOp]]:
        """The gets with their positions: they share one round trip."""
        return [(i, op) for i, op in enumerate(self.ops) if isinstance(op, GetOp)]

    def write_must_finish(self, cluster: bool) -> bool:
        """Whether the write, once started, must run to its end even if the call is
        cancelled: a delete that empties a namespace drops its index entry after the
        item scripts, and on a cluster a put adds its entry in a round trip of its own
        before its script (on one server a put's script indexes it)."""
        return cluster or any(p.value_json is None for p in self.puts)


def prepare_batch(ops: Iterable[Op], cfg: VectorConfig | None) -> PreparedBatch:
    """Validate every operation, compile filters, keep each key's last put, and collect
    what to embed. ``cfg`` is None when the store embeds nothing.

    Raises:
        TypeError, ValueError, InvalidNamespaceError: From :func:`validate_op`, a filter
            or a value (see :func:`~.writes.prepare_puts`), before anything is sent.
    """
    ops = list(ops)
    for op in ops:
        validate_op(op)
    filters: dict[int, CompiledFilter] = {
        i: compile_filter(op.filter) for i, op in enumerate(ops) if isinstance(op, SearchOp)
    }
    puts: dict[tuple[tuple[str, ...], str], PutOp] = {}
    for op in ops:
        if isinstance(op, PutOp):
            puts.pop((op.namespace, op.key), None)  # the last put of a key wins
            puts[(op.namespace, op.key)] = op
    prepared = prepare_puts(puts.values(), cfg)
    texts = [t for p in prepared for _, t in p.texts]
    queries = {op.query for op in ops if isinstance(op, SearchOp) and op.query and cfg is not None}
    return PreparedBatch(ops, filters, prepared, texts, sorted(queries))


def validate_op(op: object) -> None:
    """Refuse an operation the store cannot run, before anything is sent or embedded.

    Namespaces are tuples of labels. A string is a sequence too, so LangGraph's own
    checks accept ``store.put("memories", ...)`` and the namespace would silently become
    ``("m", "e", "m", ...)``, one label per character; here it is a ``TypeError`` that
    shows the tuple to write instead.

    Raises:
        TypeError: A namespace (or a ``list_namespaces`` prefix/suffix) given as a string.
        InvalidNamespaceError: An empty, non-string or dotted label; an empty namespace
            on a put.
        ValueError: Not a store operation.
    """
    if isinstance(op, (GetOp, PutOp)):
        _tuple_namespace(op.namespace, "namespace")
    elif isinstance(op, SearchOp):
        _tuple_namespace(op.namespace_prefix, "namespace_prefix")
    elif isinstance(op, ListNamespacesOp):
        for condition in op.match_conditions or ():
            _tuple_namespace(condition.path, str(condition.match_type))
    else:
        raise ValueError(f"Unknown operation type: {type(op)}")
    validate_op_namespace(op)
    if isinstance(op, PutOp) and not op.namespace:
        raise InvalidNamespaceError("Namespace cannot be empty.")
    if isinstance(op, (GetOp, PutOp)) and any("\0" in label for label in op.namespace):
        # Newer LangGraph refuses NUL in labels itself; older releases (our floor) do not,
        # and a NUL cannot round-trip through every store engine's index.
        raise InvalidNamespaceError(f"Namespace labels cannot contain NUL: {op.namespace!r}")


def _tuple_namespace(value: object, what: str) -> None:
    if isinstance(value, (str, bytes)):
        text = value.decode(errors="replace") if isinstance(value, bytes) else value
        raise TypeError(
            f"{what} must be a tuple of strings, got the string {text!r}: write "
            f"{(text,)!r} (a string would be split into one label per character)"
        )
