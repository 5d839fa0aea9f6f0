"""Benchmark result rows: who was measured, medians of repetitions, paired ratios.

A run repeats every measurement (``rep`` in each row, 3 repetitions by default). Each
ratio is computed within one repetition (ours and the alternative measured back to back),
then reported as the median of the repetitions with its spread (min-max), so one noisy
repetition cannot flip a target (:mod:`benchmarks.targets`) or a table
(:mod:`benchmarks.report`).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

Row = dict[str, Any]
NA = "n/a"

OURS = "langgraph-redis"
BOUND = "lower-bound"
PEER = "langgraph-checkpoint-redis"
CP_OPS = ("put", "put_writes", "get_tuple", "list")
STORE_OPS = ("put", "get", "search_filter", "search_vector")
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


def where(rows: Iterable[Row], **want: Any) -> list[Row]:
    """Every row whose fields equal ``want``."""
    return [r for r in rows if all(r.get(k) == v for k, v in want.items())]


def subjects_of(rows: Iterable[Row], suite: str) -> list[tuple[str, str]]:
    """``(subject, engine)`` pairs of a suite: ours first, then bound, peer, locals."""
    order = {OURS: 0, BOUND: 1, PEER: 2}
    seen = {(r["subject"], r["engine"]) for r in rows if r["suite"] == suite}
    engine_order = {"valkey": 0, "redis7": 1, "stack": 2, "env": 3, "local": 4}
    return sorted(seen, key=lambda p: (order.get(p[0], 3), p[0], engine_order.get(p[1], 5)))


def subject_label(subject: str, engine: str) -> str:
    """How a subject is named in tables and legends (a local one without its engine)."""
    return subject if engine == "local" else f"{subject} @ {engine}"


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
