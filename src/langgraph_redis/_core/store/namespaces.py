"""Namespace listing and the TTL sweep: plans over the namespace index.

Both read the index of namespaces (one sorted set, :func:`.keys.ns_index_key`) and the
key sets of the namespaces it names; the sweep removes the bookkeeping of items Redis
has already expired, and reconciles the index when a namespace empties
(:func:`.writes.index_upkeep`).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from langgraph.store.base import ListNamespacesOp, MatchCondition

from langgraph_redis._core.plans import Batch, Op, batch, check
from langgraph_redis._core.replies import text
from langgraph_redis._core.store import keys as sk
from langgraph_redis._core.store.keys import ns_keys
from langgraph_redis._core.store.writes import SWEEP_ITEM, index_upkeep


def _does_match(cond: MatchCondition, ns: tuple[str, ...]) -> bool:
    path = tuple(cond.path)
    if len(ns) < len(path):
        return False
    pairs = (
        zip(ns, path, strict=False)
        if cond.match_type == "prefix"
        else zip(reversed(ns), reversed(path), strict=False)
    )
    if cond.match_type not in ("prefix", "suffix"):
        raise ValueError(f"unsupported match type: {cond.match_type}")
    return all(p == "*" or n == p for n, p in pairs)


def _fixed_prefix(op: ListNamespacesOp) -> tuple[str, ...]:
    """The longest wildcard-free leading labels every result must start with."""
    best: tuple[str, ...] = ()
    for cond in op.match_conditions or ():
        if cond.match_type == "prefix":
            fixed: list[str] = []
            for label in cond.path:
                if label == "*":
                    break
                fixed.append(label)
            if len(fixed) > len(best):
                best = tuple(fixed)
    return best


def plan_list_namespaces(
    prefix: str, op: ListNamespacesOp, live_at_ms: int | None = None
) -> Generator[Batch[Any], list[Any], list[tuple[str, ...]]]:
    """A lex range of the namespace index, matched exactly here: one round trip.

    With ``live_at_ms`` (TTL ``omit_expired``) one more round trip keeps only namespaces
    holding an item that has not expired at that time, so namespaces whose items all
    expired disappear before the sweeper removes them.
    """
    fixed = sk.ns_text(_fixed_prefix(op))
    lo, hi = sk.ns_lex_range(fixed)
    replies = yield batch([("ZRANGE", sk.ns_index_key(prefix), lo, hi, "BYLEX")])
    check(replies)
    found: list[tuple[str, tuple[str, ...]]] = []
    for raw in replies[0]:
        nst = text(raw)
        if not sk.is_under(nst, fixed):
            continue
        ns = sk.ns_from_text(nst)
        if all(_does_match(c, ns) for c in op.match_conditions or ()):
            found.append((nst, ns))
    if live_at_ms is not None and found:
        counts = yield batch(
            [("ZCOUNT", sk.keys_key(prefix, n), f"({live_at_ms}", "+inf") for n, _ in found]
        )
        check(counts)
        found = [f for f, c in zip(found, counts, strict=True) if int(c)]
    if op.max_depth is not None:
        result = sorted({ns[: op.max_depth] for _, ns in found})
    else:
        result = sorted(ns for _, ns in found)
    return result[op.offset : op.offset + op.limit]


def plan_sweep(
    prefix: str, now_ms: int, *, ordered: bool = False
) -> Generator[Batch[Any], list[Any], int]:
    """Remove key-set entries of expired items; drop namespaces left empty.

    Three round trips, plus one when namespaces emptied (two on a cluster, ``ordered``
    False; see :func:`.writes.index_upkeep`); returns entries removed.
    """
    replies = yield batch([("ZRANGE", sk.ns_index_key(prefix), "-", "+", "BYLEX")])
    check(replies)
    nsts = [text(r) for r in replies[0]]
    if not nsts:
        return 0
    replies = yield batch(
        [("ZRANGE", sk.keys_key(prefix, n), "-inf", now_ms, "BYSCORE") for n in nsts]
        + [("EXISTS", sk.keys_key(prefix, n)) for n in nsts]
    )
    check(replies)
    cmds: list[Op] = []
    owners: list[str] = []
    empty = [n for n, e in zip(nsts, replies[len(nsts) :], strict=False) if not int(e)]
    for n, expired in zip(nsts, replies[: len(nsts)], strict=False):
        for raw in expired:
            key = text(raw)
            cmds.append(
                SWEEP_ITEM.call(
                    (sk.item_key(prefix, n, key), *ns_keys(prefix, n), sk.vset_key(prefix, n)),
                    (key, now_ms, sk.escape(key)),
                )
            )
            owners.append(n)
    removed = 0
    if cmds:
        replies = yield batch(cmds)
        check(replies)
        removed = len(cmds)
        empty += [n for n, left in zip(owners, replies, strict=False) if int(left) == 0]
    if empty:
        yield from index_upkeep(prefix, dict.fromkeys(empty, False), ordered)
    return removed
