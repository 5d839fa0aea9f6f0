"""Turns result rows into ``results.json`` and ``results.md``: tables, ratios, targets.

The arithmetic lives beside it: medians and ratios in :mod:`benchmarks.rows`, the
targets in :mod:`benchmarks.targets`; this module writes them out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.rows import (
    CP_OPS,
    NA,
    PEER,
    STORE_OPS,
    Row,
    collapse,
    find,
    ratios,
    subject_label,
    subjects_of,
    where,
)
from benchmarks.targets import targets


def _cell(row: Row | None) -> str:
    if row is None:
        return NA
    if "error" in row:
        return "wrong answer"
    return f"{row['ops_s']:,.0f}/s · {row['p50_ms']:.2f} / {row['p99_ms']:.2f}"


def md_table(headers: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return [*lines, ""]


def fmt_value(x: float | None, unit: str = "x") -> str:
    if x is None or math.isnan(x):
        return NA
    return f"{x:.2f}{unit}"


def _ratio(r: Row | None) -> str:
    """A ratio's median, with its spread over the repetitions when there were several."""
    if r is None:
        return NA
    if len(r.get("ratio_reps", ())) > 1:
        return f"{fmt_value(r['ratio'])} ({r['lo']:.2f}-{r['hi']:.2f})"
    return fmt_value(r["ratio"])


def _ratio_table(
    rat: list[Row], suite: str, columns: Sequence[tuple[str, dict[str, Any]]]
) -> list[str]:
    """One row per (engine, alternative) of the suite; a column per ``(header, fields)``."""
    pairs = sorted({(r["engine"], r["versus"]) for r in where(rat, suite=suite)})
    body = [
        [
            f"{eng} ÷ {versus}",
            *[
                _ratio(find(rat, suite=suite, engine=eng, versus=versus, **want))
                for _, want in columns
            ],
        ]
        for eng, versus in pairs
    ]
    return md_table(["ours @ engine ÷", *[header for header, _ in columns]], body)


def _concurrencies(rows: Iterable[Row], suite: str) -> list[int]:
    return sorted(
        {int(r["concurrency"]) for r in rows if r["suite"] == suite and "concurrency" in r}
    )


# -- markdown ------------------------------------------------------------------------------


def _checkpointer_md(rows: list[Row], rat: list[Row]) -> list[str]:
    md = ["## Checkpointer", "", "Each cell: ops/s · p50 / p99 latency in ms.", ""]
    subjects = subjects_of(rows, "checkpointer")
    for conc in _concurrencies(rows, "checkpointer"):
        md += [f"### {conc} concurrent task{'s' if conc > 1 else ''}", ""]
        body = [
            [subject_label(s, e)]
            + [
                _cell(
                    find(rows, suite="checkpointer", op=op, subject=s, engine=e, concurrency=conc)
                )
                for op in CP_OPS
            ]
            for s, e in subjects
        ]
        md += md_table(["subject", *CP_OPS], body)
    md += [
        "### Ratios: ours ÷ alternative",
        "",
        "Throughput ratios (ours ops/s ÷ theirs; >1 means we are faster), except against "
        "the lower bound: time ratios (our time per call ÷ the bound's; 1.00 is the floor). "
        "Median of the repetitions (min-max in brackets).",
        "",
    ]
    md += _ratio_table(
        rat,
        "checkpointer",
        [
            (f"{op} c={c}", {"op": op, "concurrency": c})
            for c in _concurrencies(rows, "checkpointer")
            for op in CP_OPS
        ],
    )
    cpu = [r for r in rows if r["suite"] == "server_cpu"]
    if cpu:
        md += [
            "### Server CPU per put (INFO cpu around a batch of puts, 1 task)",
            "",
        ]
        md += md_table(
            ["subject", "server CPU µs per put", "commands per put (scripts' included)"],
            [
                [
                    subject_label(r["subject"], r["engine"]),
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
        for s, e in subjects_of(rows, "history"):
            vals = [find(rows, suite="history", subject=s, engine=e, history=d) for d in depths]
            cost = [f"{v['p50_ms']:.3f}" if v else NA for v in vals]
            growth = (
                fmt_value(vals[-1]["p50_ms"] / vals[0]["p50_ms"]) if vals[0] and vals[-1] else NA
            )
            body.append([subject_label(s, e), *cost, growth])
        md += md_table(
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
    subjects = subjects_of(rows, "store")
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
                    body.append([subject_label(s, e) + kind, *cells])
            md += md_table(["subject", *STORE_OPS], body)
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
                    subject_label(s, e),
                    f"{size:,}",
                    f"{bp['items_s']:,.0f}",
                    f"{bp['p50_ms']:.1f} / {bp['p99_ms']:.1f}",
                    f"{mem['bytes_per_item']:,.0f}" if mem else NA,
                ]
            )
    md += md_table(
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
        md += md_table(
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
    if where(rat, suite="store"):
        md += ["### Ratios: ours ÷ alternative (throughput, 1 task)", ""]
        md += _ratio_table(
            rat,
            "store",
            [
                (f"{op} {size:,}", {"op": op, "size": size, "concurrency": 1})
                for size in sizes
                for op in STORE_OPS
            ],
        )
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
            subject_label(s, e),
            *[_cell(find(rows, suite="e2e", subject=s, engine=e, concurrency=c)) for c in concs],
        ]
        for s, e in subjects_of(rows, "e2e")
    ]
    md += md_table(["subject", *[f"{c} concurrent" for c in concs]], body)
    if where(rat, suite="e2e"):
        md += [
            "Throughput ratios, ours ÷ alternative:",
            "",
            *_ratio_table(rat, "e2e", [(f"c={c}", {"concurrency": c}) for c in concs]),
        ]
    return md


def _target_value(t: Row) -> str:
    unit = t.get("unit", "x")
    if t["value"] is None:
        return NA
    if unit == " items/s":
        return f"{t['value']:,.0f}{unit}"
    return fmt_value(t["value"], unit)


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
    md += md_table(
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
