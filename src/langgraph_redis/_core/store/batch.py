"""Batch grouping: what one ``abatch`` call validates, de-duplicates and embeds.

Everything here runs before the first round trip, so a bad operation anywhere in a batch
fails it before anything is written or embedded (as LangGraph's own stores do in
their ``base.py``).
"""

from __future__ import annotations

from langgraph.store.base import (
    GetOp,
    InvalidNamespaceError,
    ListNamespacesOp,
    PutOp,
    SearchOp,
    validate_op_namespace,
)


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
