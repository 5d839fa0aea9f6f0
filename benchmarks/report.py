"""Turns result rows into ``results.json`` and ``results.md``: tables, ratios, targets.

Ratios are computed here, from the rows of one run, never from remembered numbers: the
targets in ``docs/benchmarks.md`` are read off this output.

A run repeats every measurement (``rep`` in each row, 3 repetitions by default). Each
ratio is computed within one repetition (ours and the alternative measured back to back),
then reported as the median of the repetitions with its spread (min-max); tables show
the median of each figure; the targets read the medians, so one noisy repetition cannot
flip a target.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

Row = dict[str, Any]
NA = "n/a"

OURS = "langgraph-redis"
BOUND = "lower-bound"
PEER = "langgraph-checkpoint-redis"
CP_OPS = ("put", "put_writes", "get_tuple", "list")
STORE_OPS = ("put", "get", "search_filter", "search_vector")
TARGETS = {
    "peer": 3.0,
    "bound": 1.3,
    "history": 1.5,
    "vector_query_ms": 2.0,
    "vector_plain_ms": 20.0,
    # issue 13
    "bound_1": 1.2,
    "bound_64": 1.3,
    "peer_64": 3.0,
    "server_cpu": 1.5,
    "store_put_bound": 1.5,
    "batch_put_items_s": 4000.0,
    "batch_put_peer": 5.0,
    "filter_query_bound": 2.0,
    "filter_plain_ms": 1.0,
    "e2e_bound": 1.3,
}
METRICS = frozenset(
    {
        "n",
        "p50_ms",
        "p99_ms",
        "mean_ms",
        "ops_s",
        "wall_s",
        "items_s",
        "bytes_per_item",
        "recall",
        "identical",
        "server_us",
        "commands_per_put",
    }
)
"""Measured fields of a row; every other field names what was measured."""


def _identity(row: Row) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, v) for k, v in row.items() if k not in METRICS and k != "rep"))


def collapse(rows: list[Row]) -> list[Row]:
    """One row per measurement: the median of each figure over its repetitions.

    ``reps`` says how many repetitions there were; ``spread`` holds (min, max) of
    ``ops_s`` (or ``items_s``) when there was more than one.
    """
    groups: dict[tuple[tuple[str, Any], ...], list[Row]] = {}
    for row in rows:
        groups.setdefault(_identity(row), []).append(row)
    out: list[Row] = []
    for ident, group in groups.items():
        merged: Row = dict(ident)
        for metric in METRICS:
            values = [r[metric] for r in group if isinstance(r.get(metric), (int, float))]
            if values:
                merged[metric] = statistics.median(values)
        merged["reps"] = len(group)
        main = "items_s" if "items_s" in merged else "ops_s"
        values = [r[main] for r in group if isinstance(r.get(main), (int, float))]
        if len(values) > 1:
            merged["spread"] = (min(values), max(values))
        out.append(merged)
    return out


def find(rows: Iterable[Row], **want: Any) -> Row | None:
    """The first row whose fields equal ``want``."""
    for row in rows:
        if all(row.get(k) == v for k, v in want.items()):
            return row
    return None


def _subjects(rows: Iterable[Row], suite: str) -> list[tuple[str, str]]:
    """``(subject, engine)`` pairs of a suite: ours first, then bound, peer, locals."""
    order = {OURS: 0, BOUND: 1, PEER: 2}
    seen = {(r["subject"], r["engine"]) for r in rows if r["suite"] == suite}
    engine_order = {"valkey": 0, "redis7": 1, "stack": 2, "env": 3, "local": 4}
    return sorted(seen, key=lambda p: (order.get(p[0], 3), p[0], engine_order.get(p[1], 5)))


def _cell(row: Row | None) -> str:
    if row is None:
        return NA
    if "error" in row:
        return "wrong answer"
    return f"{row['ops_s']:,.0f}/s · {row['p50_ms']:.2f} / {row['p99_ms']:.2f}"


def _table(headers: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return [*lines, ""]


def _fmt(x: float | None, unit: str = "x") -> str:
    if x is None or math.isnan(x):
        return NA
    return f"{x:.2f}{unit}"


def _ratio(r: Row | None) -> str:
    """A ratio's median, with its spread over the repetitions when there were several."""
    if r is None:
        return NA
    if len(r.get("ratio_reps", ())) > 1:
        return f"{_fmt(r['ratio'])} ({r['lo']:.2f}-{r['hi']:.2f})"
    return _fmt(r["ratio"])


def _label(subject: str, engine: str) -> str:
    return subject if engine == "local" else f"{subject} @ {engine}"


def _concurrencies(rows: Iterable[Row], suite: str) -> list[int]:
    return sorted(
        {int(r["concurrency"]) for r in rows if r["suite"] == suite and "concurrency" in r}
    )


# -- ratios --------------------------------------------------------------------------------


def ratios(rows: list[Row]) -> list[Row]:
    """Ours ÷ each alternative, the median over repetitions with its spread.

    Each repetition's ratio pairs figures of that repetition only (``ratio_reps``);
    ``ratio`` is their median, ``lo``/``hi`` their min and max. ``kind`` says how:
    ``throughput`` (ours ops/s over theirs: higher is better) or ``time`` (our time per
    call over the lower bound's: lower is better; p50 at concurrency 1, inverse
    throughput under concurrency).
    """
    per_rep: dict[tuple[tuple[str, Any], ...], list[float]] = {}
    for rep in sorted({int(r.get("rep", 0)) for r in rows}):
        for r in _ratios_of([r for r in rows if int(r.get("rep", 0)) == rep]):
            value = r.pop("ratio")
            per_rep.setdefault(tuple(r.items()), []).append(value)
    out: list[Row] = []
    for key, values in per_rep.items():
        out.append(
            {
                **dict(key),
                "ratio": statistics.median(values),
                "lo": min(values),
                "hi": max(values),
                "ratio_reps": values,
            }
        )
    return out


def _ratios_of(rows: list[Row]) -> list[Row]:
    """The ratios of one repetition."""
    out: list[Row] = []
    ours = [r for r in rows if r["subject"] == OURS and "ops_s" in r]
    for mine in ours:
        suite, op, eng = mine["suite"], mine["op"], mine["engine"]
        key = {"suite": suite, "op": op, "concurrency": mine["concurrency"]}
        if "size" in mine:
            key["size"] = mine["size"]
        if "history" in mine:
            key["history"] = mine["history"]
        for other in rows:
            if other["subject"] == OURS or "ops_s" not in other:
                continue
            if any(other.get(k) != v for k, v in key.items()):
                continue
            if other["engine"] not in (eng, "local"):
                continue  # Redis subjects are compared on the same server only
            if other["subject"] == BOUND:
                value = (
                    mine["p50_ms"] / other["p50_ms"]
                    if mine["concurrency"] == 1
                    else other["ops_s"] / mine["ops_s"]
                )
                kind = "time"
            else:
                value = mine["ops_s"] / other["ops_s"]
                kind = "throughput"
            out.append(
                {**key, "engine": eng, "versus": other["subject"], "kind": kind, "ratio": value}
            )
    return out


def targets(rows: list[Row], rat: list[Row]) -> list[Row]:
    """Each target of the issues, its measured value (medians) and whether it is met.

    ``rows`` are the medians (:func:`collapse`), ``rat`` the median ratios
    (:func:`ratios`). A target with nothing to read it from says "not measured".
    """
    out: list[Row] = []

    def add(
        name: str,
        value: float | None,
        limit: float,
        lower_is_better: bool,
        detail: str,
        unit: str = "x",
    ) -> None:
        if value is None:
            status = "not measured"
        else:
            status = "met" if (value <= limit if lower_is_better else value >= limit) else "MISSED"
        out.append(
            {
                "target": name,
                "value": value,
                "limit": limit,
                "status": status,
                "detail": detail,
                "unit": unit,
            }
        )

    def spread(r: Row) -> str:
        reps = r.get("ratio_reps", ())
        return f" ({r['lo']:.2f}-{r['hi']:.2f})" if len(reps) > 1 else ""

    def picked(
        vs: list[Row], worst_is_max: bool
    ) -> tuple[float | None, str]:  # the worst median, and every one with its spread
        if not vs:
            return None, ""
        worst = (max if worst_is_max else min)(vs, key=lambda r: r["ratio"])
        detail = ", ".join(
            f"{r['engine']} c={r['concurrency']}: {r['ratio']:.2f}x{spread(r)}"
            for r in sorted(vs, key=lambda r: (r["engine"], r["concurrency"]))
        )
        return worst["ratio"], detail

    cp = [r for r in rat if r["suite"] == "checkpointer"]
    concs = sorted({int(r["concurrency"]) for r in cp})
    top = concs[-1] if concs else 64
    for op in ("put", "get_tuple"):
        value, detail = picked([r for r in cp if r["op"] == op and r["versus"] == PEER], False)
        add(
            f"checkpointer {op}: ≥3x the throughput of {PEER} (same server)",
            value,
            TARGETS["peer"],
            False,
            detail,
        )
    value, detail = picked([r for r in cp if r["versus"] == BOUND], True)
    worst = max((r for r in cp if r["versus"] == BOUND), key=lambda r: r["ratio"], default=None)
    add(
        "our calls ≤1.3x the time of the hand-written lower bound",
        value,
        TARGETS["bound"],
        True,
        f"worst: {worst['op']} c={worst['concurrency']} on {worst['engine']}" if worst else "",
    )
    # Issue 13: per operation, 1 client and the highest concurrency, every engine.
    for op in CP_OPS:
        for conc, limit in ((1, TARGETS["bound_1"]), (top, TARGETS["bound_64"])):
            value, detail = picked(
                [
                    r
                    for r in cp
                    if r["op"] == op and r["versus"] == BOUND and r["concurrency"] == conc
                ],
                True,
            )
            add(
                f"checkpoint {op}, {conc} task{'s' if conc > 1 else ''}: ≤{limit:g}x the "
                "lower bound's time, every engine",
                value,
                limit,
                True,
                detail,
            )
        value, detail = picked(
            [r for r in cp if r["op"] == op and r["versus"] == PEER and r["concurrency"] == top],
            False,
        )
        add(
            f"checkpoint {op}, {top} tasks: ≥3x the throughput of {PEER}",
            value,
            TARGETS["peer_64"],
            False,
            detail,
        )
    cpu = [r for r in rat if r["suite"] == "server_cpu" and r["versus"] == BOUND]
    value, detail = picked(cpu, True)
    add(
        "server CPU per checkpoint put ≤1.5x the lower bound's (INFO cpu)",
        value,
        TARGETS["server_cpu"],
        True,
        detail,
    )
    hist: list[tuple[str, float]] = []
    depths = sorted({int(r["history"]) for r in rows if r["suite"] == "history"})
    if depths:
        for eng in sorted(
            {r["engine"] for r in rows if r["suite"] == "history" and r["subject"] == OURS}
        ):
            lo = find(rows, suite="history", subject=OURS, engine=eng, history=depths[0])
            hi = find(rows, suite="history", subject=OURS, engine=eng, history=depths[-1])
            if lo and hi:
                hist.append((eng, hi["p50_ms"] / lo["p50_ms"]))
    add(
        f"get_tuple on a {depths[-1] if depths else 1000}-checkpoint thread ≤1.5x a "
        f"{depths[0] if depths else 10}-checkpoint one",
        max(v for _, v in hist) if hist else None,
        TARGETS["history"],
        True,
        ", ".join(f"{e}: {v:.2f}x" for e, v in hist),
    )
    for engine_kind, limit in (
        ("query", TARGETS["vector_query_ms"]),
        ("vset", TARGETS["vector_query_ms"]),  # server-side too: the same target
        ("plain", TARGETS["vector_plain_ms"]),
    ):
        hits = _ours_store(rows, "search_vector", engine_kind, 10_000)
        add(
            f"vector search, 10,000 items, k=10: p50 <{limit:g} ms ({engine_kind} engine)",
            max(r["p50_ms"] for r in hits) if hits else None,
            limit,
            True,
            ", ".join(f"{r['engine']}: {r['p50_ms']:.2f} ms" for r in hits),
            " ms",
        )
    # Issue 13: the store.
    value, detail = picked(
        [
            r
            for r in rat
            if r["suite"] == "store"
            and r["op"] == "put"
            and r["versus"] == BOUND
            and r["concurrency"] == 1
        ],
        True,
    )
    add(
        "store put (1 item): ≤1.5x the lower bound's time",
        value,
        TARGETS["store_put_bound"],
        True,
        detail or "the suite has no hand-written store bound yet",
    )
    for engine_kind in ("query", "plain"):
        hits = _ours_store(rows, "batch_put", engine_kind, 10_000, concurrency=None)
        add(
            f"store batch put at 10,000 items: ≥4,000 items/s ({engine_kind} engine, "
            "default index)",
            min(r["items_s"] for r in hits) if hits else None,
            TARGETS["batch_put_items_s"],
            False,
            ", ".join(f"{r['engine']}: {r['items_s']:,.0f}/s" for r in hits),
            " items/s",
        )
    value, detail = picked(
        [
            r
            for r in rat
            if r["suite"] == "store"
            and r["op"] == "batch_put"
            and r["versus"] == PEER
            and r.get("size") == 10_000
        ],
        False,
    )
    add(
        f"store batch put at 10,000 items: ≥5x the throughput of {PEER}",
        value,
        TARGETS["batch_put_peer"],
        False,
        detail,
    )
    value, detail = picked(
        [
            r
            for r in rat
            if r["suite"] == "store"
            and r["op"] == "search_filter"
            and r["versus"] == BOUND
            and r["concurrency"] == 1
        ],
        True,
    )
    add(
        "filter-only search (query engine): ≤2x the lower bound's time",
        value,
        TARGETS["filter_query_bound"],
        True,
        detail or "the suite has no hand-written store bound yet",
    )
    hits = _ours_store(rows, "search_filter", "plain", 10_000)
    add(
        "filter-only search, warm, 10,000 items: p50 <1 ms (plain engine)",
        max(r["p50_ms"] for r in hits) if hits else None,
        TARGETS["filter_plain_ms"],
        True,
        ", ".join(f"{r['engine']}: {r['p50_ms']:.2f} ms" for r in hits),
        " ms",
    )
    value, detail = picked(
        [r for r in rat if r["suite"] == "e2e" and r["versus"] == BOUND and r["concurrency"] == 32],
        True,
    )
    add(
        "chatbot ainvoke, 32 concurrent: ≤1.3x the lower bound's time",
        value,
        TARGETS["e2e_bound"],
        True,
        detail or "the suite has no hand-written end-to-end bound yet",
    )
    return out


def _ours_store(
    rows: list[Row], op: str, engine_kind: str, size: int, concurrency: int | None = 1
) -> list[Row]:
    return [
        r
        for r in rows
        if r["subject"] == OURS
        and r["op"] == op
        and r.get("store_engine") == engine_kind
        and r.get("size") == size
        and (concurrency is None or r.get("concurrency") == concurrency)
        and "error" not in r
    ]


# -- markdown ------------------------------------------------------------------------------


def _checkpointer_md(rows: list[Row], rat: list[Row]) -> list[str]:
    md = ["## Checkpointer", "", "Each cell: ops/s · p50 / p99 latency in ms.", ""]
    subjects = _subjects(rows, "checkpointer")
    for conc in _concurrencies(rows, "checkpointer"):
        md += [f"### {conc} concurrent task{'s' if conc > 1 else ''}", ""]
        body = [
            [_label(s, e)]
            + [
                _cell(
                    find(rows, suite="checkpointer", op=op, subject=s, engine=e, concurrency=conc)
                )
                for op in CP_OPS
            ]
            for s, e in subjects
        ]
        md += _table(["subject", *CP_OPS], body)
    md += [
        "### Ratios: ours ÷ alternative",
        "",
        "Throughput ratios (ours ops/s ÷ theirs; >1 means we are faster), except against "
        "the lower bound: time ratios (our time per call ÷ the bound's; 1.00 is the floor). "
        "Median of the repetitions (min-max in brackets).",
        "",
    ]
    pairs = sorted({(r["engine"], r["versus"]) for r in rat if r["suite"] == "checkpointer"})
    concs = _concurrencies(rows, "checkpointer")
    headers = ["ours @ engine ÷", *[f"{op} c={c}" for c in concs for op in CP_OPS]]
    body = []
    for eng, versus in pairs:
        cells = []
        for c in concs:
            for op in CP_OPS:
                r = find(rat, suite="checkpointer", op=op, concurrency=c, engine=eng, versus=versus)
                cells.append(_ratio(r))
        body.append([f"{eng} ÷ {versus}", *cells])
    md += _table(headers, body)
    cpu = [r for r in rows if r["suite"] == "server_cpu"]
    if cpu:
        md += [
            "### Server CPU per put (INFO cpu around a batch of puts, 1 task)",
            "",
        ]
        md += _table(
            ["subject", "server CPU µs per put", "commands per put (scripts' included)"],
            [
                [
                    _label(r["subject"], r["engine"]),
                    f"{r['p50_ms'] * 1000:.1f}",
                    f"{r.get('commands_per_put', float('nan')):.1f}",
                ]
                for r in sorted(cpu, key=lambda r: (r["engine"], r["subject"]))
            ],
        )
    depths = sorted({int(r["history"]) for r in rows if r["suite"] == "history"})
    if depths:
        md += ["### get_tuple by thread length (p50 ms, 1 task)", ""]
        body = []
        for s, e in _subjects(rows, "history"):
            vals = [find(rows, suite="history", subject=s, engine=e, history=d) for d in depths]
            cost = [f"{v['p50_ms']:.3f}" if v else NA for v in vals]
            growth = _fmt(vals[-1]["p50_ms"] / vals[0]["p50_ms"]) if vals[0] and vals[-1] else NA
            body.append([_label(s, e), *cost, growth])
        md += _table(
            ["subject", *[f"{d} checkpoints" for d in depths], f"{depths[-1]} ÷ {depths[0]}"], body
        )
    return md


def _store_md(rows: list[Row], rat: list[Row]) -> list[str]:
    if not any(r["suite"] == "store" for r in rows):
        return []
    md = [
        "## Store",
        "",
        "Each cell: ops/s · p50 / p99 latency in ms. Vector search is k=10 "
        'over every item (namespace prefix `("bench",)`); filter search is an equality '
        "filter, limit 10; put is an upsert (re-embeds one item).",
        "",
    ]
    recall = [r for r in rows if r["suite"] == "store" and r["op"] == "recall"]
    rows = [r for r in rows if not (r["suite"] == "store" and r["op"] == "recall")]
    subjects = _subjects(rows, "store")
    sizes = sorted({int(r["size"]) for r in rows if r["suite"] == "store"})
    for size in sizes:
        for conc in _concurrencies(rows, "store"):
            md += [f"### {size:,} items, {conc} concurrent task{'s' if conc > 1 else ''}", ""]
            body = []
            for s, e in subjects:
                cells = [
                    _cell(
                        find(
                            rows,
                            suite="store",
                            op=op,
                            subject=s,
                            engine=e,
                            size=size,
                            concurrency=conc,
                        )
                    )
                    for op in STORE_OPS
                ]
                if any(c != NA for c in cells):
                    eng = find(rows, suite="store", subject=s, engine=e, op="get")
                    kind = f" ({eng['store_engine']})" if eng and eng.get("store_engine") else ""
                    body.append([_label(s, e) + kind, *cells])
            md += _table(["subject", *STORE_OPS], body)
    md += ["### Batch put (100 PutOps per batch) and server memory", ""]
    body = []
    for s, e in subjects:
        for size in sizes:
            bp = find(rows, suite="store", op="batch_put", subject=s, engine=e, size=size)
            mem = find(rows, suite="store", op="memory", subject=s, engine=e, size=size)
            if bp is None:
                continue
            body.append(
                [
                    _label(s, e),
                    f"{size:,}",
                    f"{bp['items_s']:,.0f}",
                    f"{bp['p50_ms']:.1f} / {bp['p99_ms']:.1f}",
                    f"{mem['bytes_per_item']:,.0f}" if mem else NA,
                ]
            )
    md += _table(
        ["subject", "size", "items/s", "batch p50 / p99 ms", "bytes/item (INFO memory)"], body
    )
    if recall:
        md += [
            "### Exactness: recall@10 against exact search",
            "",
            "Clustered, low-rank vectors (like real embeddings); the exact answer is the "
            "plain engine's (numpy) on the same items. *identical*: share of queries whose "
            "top 10 (items and order) equals the exact one. FLAT is the default index.",
            "",
        ]
        md += _table(
            ["subject", "engine", "vectors x dims", "queries", "recall@10", "identical", "p50 ms"],
            [
                [
                    r["subject"],
                    r["engine"],
                    f"{r['size']:,} x {r['dims']}",
                    str(r["queries"]),
                    f"{r['recall']:.3f}",
                    f"{r['identical']:.0%}",
                    f"{r['p50_ms']:.2f}",
                ]
                for r in recall
            ],
        )
    pairs = sorted({(r["engine"], r["versus"]) for r in rat if r["suite"] == "store"})
    if pairs:
        md += ["### Ratios: ours ÷ alternative (throughput, 1 task)", ""]
        headers = ["ours @ engine ÷", *[f"{op} {size:,}" for size in sizes for op in STORE_OPS]]
        body = []
        for eng, versus in pairs:
            cells = []
            for size in sizes:
                for op in STORE_OPS:
                    r = find(
                        rat,
                        suite="store",
                        op=op,
                        size=size,
                        concurrency=1,
                        engine=eng,
                        versus=versus,
                    )
                    cells.append(_ratio(r))
            body.append([f"{eng} ÷ {versus}", *cells])
        md += _table(headers, body)
    return md


def _e2e_md(rows: list[Row], rat: list[Row]) -> list[str]:
    if not any(r["suite"] == "e2e" for r in rows):
        return []
    concs = _concurrencies(rows, "e2e")
    md = [
        "## End to end: cross-thread-persistence chatbot",
        "",
        "Invocations/s · p50 / p99 ms per invocation (functional API, scripted model, "
        'memory search in a task, memory write on "remember").',
        "",
    ]
    body = [
        [
            _label(s, e),
            *[_cell(find(rows, suite="e2e", subject=s, engine=e, concurrency=c)) for c in concs],
        ]
        for s, e in _subjects(rows, "e2e")
    ]
    md += _table(["subject", *[f"{c} concurrent" for c in concs]], body)
    pairs = sorted({(r["engine"], r["versus"]) for r in rat if r["suite"] == "e2e"})
    if pairs:
        body = []
        for eng, versus in pairs:
            cells = [
                find(rat, suite="e2e", concurrency=c, engine=eng, versus=versus) for c in concs
            ]
            body.append([f"{eng} ÷ {versus}", *[_ratio(r) for r in cells]])
        md += [
            "Throughput ratios, ours ÷ alternative:",
            "",
            *_table(["ours @ engine ÷", *[f"c={c}" for c in concs]], body),
        ]
    return md


def _target_value(t: Row) -> str:
    unit = t.get("unit", "x")
    if t["value"] is None:
        return NA
    if unit == " items/s":
        return f"{t['value']:,.0f}{unit}"
    return _fmt(t["value"], unit)


def _redis_versions(meta: dict[str, Any]) -> str:
    ours = meta.get("machine", {}).get("packages", {}).get("redis", "?")
    peer = meta.get("peer_versions", {}).get("redis")
    if peer is None:
        return f"redis-py {ours} for every subject."
    if peer == ours:
        return f"redis-py {ours} for every subject (ours, the lower bound and {PEER})."
    return f"**redis-py differs**: {ours} for ours and the lower bound, {peer} for {PEER}."


def markdown(data: dict[str, Any]) -> str:
    """The whole ``results.md``."""
    rows, rat, meta = data["medians"], data["ratios"], data["meta"]
    reps = max((int(r.get("reps", 1)) for r in rows), default=1)
    md = [
        f"# langgraph-redis benchmark results ({meta['mode']} mode)",
        "",
        f"{meta['machine']['cpu']}, {meta['machine']['cores']} cores, Python "
        f"{meta['machine']['python']}; run took {meta['duration_s']:.0f} s.",
        "Servers: " + ", ".join(f"{k}: {v}" for k, v in meta["servers"].items()) + ".",
        f"Every figure is the median of {reps} repetition{'s' if reps > 1 else ''} in this "
        "run; ratios pair figures of the same repetition, then take the median "
        "(min-max in brackets).",
        _redis_versions(meta),
        "",
        "## Targets",
        "",
    ]
    md += _table(
        ["target", "measured", "status", "detail"],
        [
            [
                t["target"],
                _target_value(t),
                t["status"],
                t["detail"],
            ]
            for t in data["targets"]
        ],
    )
    md += _checkpointer_md(rows, rat) + _store_md(rows, rat) + _e2e_md(rows, rat)
    errors = sorted(
        {
            f"{r['subject']} @ {r['engine']}: {r['op']} gave a wrong answer ({r['error']})"
            for r in rows
            if "error" in r
        }
    )
    if data["notes"] or errors:
        md += ["## Notes", "", *[f"- {n}" for n in [*data["notes"], *errors]], ""]
    return "\n".join(md)


def write(out: Path, meta: dict[str, Any], rows: list[Row], notes: list[str]) -> dict[str, Any]:
    """Write ``results.json`` and ``results.md`` into ``out``; return the JSON data."""
    out.mkdir(parents=True, exist_ok=True)
    notes = list(dict.fromkeys(notes))  # each repetition may repeat a note
    rat = ratios(rows)
    medians = collapse(rows)
    data = {
        "meta": meta,
        "rows": rows,
        "medians": medians,
        "ratios": rat,
        "targets": targets(medians, rat),
        "notes": notes,
    }
    (out / "results.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
    (out / "results.md").write_text(markdown(data))
    return data
