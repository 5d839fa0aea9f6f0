"""Chaos harness, the oracle's rules: register outcomes and answer comparison.

Used by :mod:`tests.chaos_check`; see its docstring for how a run decides.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

INF = math.inf


# -- registers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    """One write to a register: its outcome and real-time interval (end inf: uncertain)."""

    op: str
    outcome: Any
    start: float
    end: float

    @property
    def acked(self) -> bool:
        return self.end != INF


def write_of(rec: dict[str, Any], outcome: Any) -> Write:
    end = rec["e"] if rec["st"] == "ok" else INF
    return Write(rec["id"], outcome, float(rec["s"]), float(end))


def possible(prior: Any, writes: list[Write]) -> list[Any]:
    """Every final state a linearizable register may hold after ``writes`` (see module)."""
    outcomes = [] if any(w.acked for w in writes) else [prior]
    for w in writes:
        if w.acked and any(o.acked and o.start > w.end for o in writes):
            continue  # an acknowledged write started after this one ended: overwritten
        outcomes.append(w.outcome)
    return outcomes


def _key(entry: list[Any]) -> str:
    return json.dumps(entry[:3], sort_keys=True)


def compare(
    question: str, got: Any, want: Any, all_want: dict[str, Any], tolerated: set[str]
) -> list[tuple[str, dict[str, Any]]]:
    """Disagreements between an observer's answer and the oracle's (empty: agree).

    ``tolerated``: namespaces (JSON) that ``list_namespaces`` may list in excess.
    """
    if isinstance(got, dict) and "error" in got:
        return [("error", {"got": got["error"]})]
    if question.startswith("st.page"):
        full = {_key(e): e for e in all_want[question.replace("st.page", "st.search", 1)]}
        problems = []
        if len(got) != len(want):
            problems.append(
                ("short page" if len(got) < len(want) else "long page", {"got": got, "want": want})
            )
        for e in got:
            ref = full.get(_key(e))
            if ref is None:
                problems.append(("extra", {"got": e}))
        if " q=" in question:
            scores = sorted((e[3] for e in got), reverse=True)
            best = [e[3] for e in want][: len(scores)]
            if len(scores) == len(best) and any(
                abs(a - b) > 1e-3 for a, b in zip(scores, best, strict=True)
            ):
                problems.append(("rank", {"got": scores, "want": best}))
        return problems
    if question.startswith("st.search"):
        g = {_key(e): e for e in got}
        w = {_key(e): e for e in want}
        problems = [("hidden", {"item": w[k][:3]}) for k in sorted(set(w) - set(g))]
        problems += [("extra", {"item": g[k][:3]}) for k in sorted(set(g) - set(w))]
        for k in sorted(set(g) & set(w)):
            a, b = g[k][3], w[k][3]
            if (a is None) != (b is None) or (a is not None and abs(a - b) > 1e-3):
                problems.append(("score", {"item": g[k][:3], "got": a, "want": b}))
        return problems
    if question.startswith(("st.ns", "cp.list", "sh.list")):
        gs = [json.dumps(x, sort_keys=True) for x in got]
        ws = [json.dumps(x, sort_keys=True) for x in want]
        if question.startswith("st.ns"):
            gs = [x for x in gs if x in ws or x not in tolerated]
        if sorted(gs) == sorted(ws):
            return []
        missing = sorted(set(ws) - set(gs))
        extra = sorted(set(gs) - set(ws))
        out = [("hidden", {"item": json.loads(x)}) for x in missing]
        return out + [("extra", {"item": json.loads(x)}) for x in extra] or [
            ("mismatch", {"got": got, "want": want})
        ]
    if got != want:
        kind = "hidden" if got is None else "extra" if want is None else "mismatch"
        return [(kind, {"got": got, "want": want})]
    return []
