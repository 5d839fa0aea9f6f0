"""LangGraph store filters: validation, a client-side predicate, and query-engine text.

Semantics follow ``InMemoryStore`` (``_compare_values``): a filter is a mapping of keys
to expected values; a dict whose keys start with ``$`` is a set of operators, another
dict matches nested objects key by key, a list must equal the stored list element by
element, a scalar must equal the stored value (Python ``==`` on the JSON-decoded value).
Two deliberate extensions, both supersets of InMemoryStore's behaviour:

* a key holding ``.`` (``"a.b"``) is looked up literally first and, when absent, as a
  path into nested objects;
* range operators compare numbers as numbers (``float()``, as InMemoryStore does); a
  stored value that is not a number simply does not match instead of raising.

Operators: ``$eq $ne $gt $gte $lt $lte $in $nin``, and at the top level ``$and`` / ``$or``
over lists of filters (InMemoryStore has neither ``$in`` nor ``$and``/``$or``: it treats
``$or`` as a field name and matches nothing). Anything else raises ``ValueError`` when the
filter is compiled, which happens before any I/O.

Query-engine text: equality (``k: v``, ``$eq``, ``$in`` on scalars) becomes TAG clauses
over digests of ``path=value`` tokens (:func:`value_tokens` produces the same digests
when an item is written). The TAG clauses only narrow the candidate set; the predicate
is always applied to the candidates as well, so digest collisions, literal/nested key
aliasing and operators that TAG/NUMERIC cannot express stay exact.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

OPERATORS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin"})
LOGICAL = frozenset({"$and", "$or"})
_RANGE = frozenset({"$gt", "$gte", "$lt", "$lte"})


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return out


def _norm_scalar(value: Any) -> str | None:
    """Canonical text of a scalar so that Python-equal scalars share one token."""
    if value is None:
        return None  # a missing key equals None too, so None cannot narrow by token
    if isinstance(value, bool):
        value = int(value)  # True == 1 in Python, so they must share a token
    if isinstance(value, (int, float)):
        f = float(value)
        if math.isnan(f):
            return None  # NaN equals nothing
        if f.is_integer() and abs(f) < 2**63:
            return f"n:{int(f)}"
        return f"n:{f!r}"
    if isinstance(value, str):
        return "s:" + value
    return None


def token(path: str, value: Any) -> str | None:
    """Digest of one ``path=value`` equality, or None when the value is not a scalar."""
    norm = _norm_scalar(value)
    if norm is None:
        return None
    return hashlib.blake2b(f"{path}\x00{norm}".encode(), digest_size=8).hexdigest()


def value_tokens(value: Mapping[str, Any]) -> list[str]:
    """Tokens for every scalar leaf reachable through nested objects (not lists)."""
    out: set[str] = set()

    def walk(obj: Mapping[str, Any], base: str) -> None:
        for k, v in obj.items():
            path = f"{base}.{k}" if base else str(k)
            if isinstance(v, Mapping):
                walk(v, path)
            else:
                t = token(path, v)
                if t is not None:
                    out.add(t)

    walk(value, "")
    return sorted(out)


def lookup(value: Any, key: str) -> Any:
    """Value at ``key``: literal key first, then a dotted path through nested objects."""
    if not isinstance(value, Mapping):
        return None
    if key in value:
        return value[key]
    if "." not in key:
        return None
    cur: Any = value
    for part in key.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _apply(stored: Any, op: str, expected: Any) -> bool:
    if op == "$eq":
        return bool(stored == expected)
    if op == "$ne":
        return bool(stored != expected)
    if op == "$in":
        return any(stored == e for e in expected)
    if op == "$nin":
        return all(stored != e for e in expected)
    left, right = _number(stored), float(expected)
    if left is None:
        return False
    if op == "$gt":
        return left > right
    if op == "$gte":
        return left >= right
    if op == "$lt":
        return left < right
    return left <= right  # $lte


def _compare(stored: Any, expected: Any) -> bool:
    if isinstance(expected, Mapping):
        if expected and all(isinstance(k, str) and k.startswith("$") for k in expected):
            return all(_apply(stored, op, v) for op, v in expected.items())
        if not isinstance(stored, Mapping):
            return False
        return all(_compare(stored.get(k), v) for k, v in expected.items())
    if isinstance(expected, (list, tuple)):
        return (
            isinstance(stored, (list, tuple))
            and len(stored) == len(expected)
            and all(_compare(s, e) for s, e in zip(stored, expected, strict=False))
        )
    return bool(stored == expected)


def _validate(expected: Any, where: str) -> None:
    if isinstance(expected, Mapping):
        ops = [k for k in expected if isinstance(k, str) and k.startswith("$")]
        if ops and len(ops) != len(expected):
            raise ValueError(
                f"filter at {where!r} mixes operators and field names: {sorted(map(str, expected))}"
            )
        for k, v in expected.items():
            if k in ops:
                if k not in OPERATORS:
                    raise ValueError(
                        f"unsupported filter operator {k!r} at {where!r}; "
                        f"supported: {', '.join(sorted(OPERATORS))}"
                    )
                if k in _RANGE and (isinstance(v, bool) or _number(v) is None):
                    raise ValueError(f"operator {k} at {where!r} needs a number, got {v!r}")
                if k in ("$in", "$nin") and not isinstance(v, (list, tuple, set, frozenset)):
                    raise ValueError(f"operator {k} at {where!r} needs a list, got {v!r}")
            else:
                _validate(v, f"{where}.{k}")
    elif isinstance(expected, (list, tuple)):
        for i, v in enumerate(expected):
            _validate(v, f"{where}[{i}]")


def _tag_groups(key: str, expected: Any) -> Iterator[list[str]]:
    """Token alternatives that every match must carry (each group is an OR)."""
    if isinstance(expected, Mapping):
        if expected and all(str(k).startswith("$") for k in expected):
            for op, v in expected.items():
                if op == "$eq":
                    t = token(key, v)
                    if t is not None:
                        yield [t]
                elif op == "$in":
                    toks = [token(key, e) for e in v]
                    if toks and all(t is not None for t in toks):
                        yield sorted({t for t in toks if t is not None})
            return
        for k, v in expected.items():
            yield from _tag_groups(f"{key}.{k}", v)
        return
    t = token(key, expected)
    if t is not None:
        yield [t]


@dataclass(frozen=True)
class CompiledFilter:
    """A validated filter: ``matches(value)`` and the query-engine prefilter text."""

    spec: Mapping[str, Any]
    tag_groups: tuple[tuple[str, ...], ...]
    logic: tuple[tuple[str, tuple[CompiledFilter, ...]], ...] = ()

    def matches(self, value: Mapping[str, Any]) -> bool:
        for key, expected in self.spec.items():
            if key in LOGICAL:
                continue
            stored = lookup(value, key)
            if not _compare(stored, expected):
                return False
        for op, subs in self.logic:
            if op == "$and" and not all(sub.matches(value) for sub in subs):
                return False
            if op == "$or" and not any(sub.matches(value) for sub in subs):
                return False
        return True

    def query_text(self, field: str = "flt") -> str:
        """TAG clauses (``@flt:{a|b} @flt:{c}``) or ``""`` when nothing is expressible."""
        return " ".join(f"@{field}:{{{'|'.join(g)}}}" for g in self.tag_groups)

    @property
    def empty(self) -> bool:
        return not self.spec


def compile_filter(spec: Mapping[str, Any] | None) -> CompiledFilter:
    """Validate ``spec`` (raising ``ValueError``) and precompute its query text."""
    spec = dict(spec or {})
    logic: list[tuple[str, tuple[CompiledFilter, ...]]] = []
    for key, expected in spec.items():
        if not isinstance(key, str):
            raise ValueError(f"filter keys must be strings, got {key!r}")
        if key in LOGICAL:
            if not isinstance(expected, (list, tuple)) or not all(
                isinstance(sub, Mapping) for sub in expected
            ):
                raise ValueError(f"{key} takes a list of filters, got {expected!r}")
            logic.append((key, tuple(compile_filter(sub) for sub in expected)))
            continue
        if key.startswith("$"):
            raise ValueError(
                f"unsupported top-level filter operator {key!r} (supported: $and, $or); "
                "filters map field names to values or to operator dicts such as "
                "{'age': {'$gte': 18}}"
            )
        _validate(expected, key)
    groups = [
        tuple(g) for key, exp in spec.items() if key not in LOGICAL for g in _tag_groups(key, exp)
    ]
    # Every branch of an $and must hold, so its TAG clauses narrow the candidates too;
    # an $or cannot narrow with AND-ed clauses and is checked on the candidates only.
    for op, subs in logic:
        if op == "$and":
            groups += [g for sub in subs for g in sub.tag_groups]
    return CompiledFilter(spec, tuple(groups), tuple(logic))


def canonical_json(value: Any) -> str:
    """JSON text used for stored values (non-ASCII kept, NaN refused)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
