"""``langgraph-redis threads|history|show|store|stats``: a read-only look at a database.

Sync and paged: every command reads one page (``--limit``, ``--offset`` or ``--before``)
with a bounded number of round trips, never ``KEYS``, and writes nothing, so it is safe
to point at production. Plans and rendering live in ``_core.inspect``; this module only
parses arguments, runs plans on one connection and prints.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

from langchain_core.runnables import RunnableConfig

from langgraph_redis._core import inspect as core
from langgraph_redis._core.probe import ServerInfo
from langgraph_redis._sync.connection import Connection, connection_for
from langgraph_redis._sync.saver import RedisSaver

COMMANDS = ("threads", "history", "show", "store", "stats")


def add_commands(sub: Any) -> None:
    """Register the inspector's sub-commands on an argparse sub-parser set."""

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=help_, description=help_)
        p.add_argument("url", help="redis://, rediss://, unix:// or redis+sentinel:// URL")
        p.add_argument("--prefix", default="lgr", help="key prefix of the data (default lgr)")
        p.add_argument(
            "--color",
            choices=("auto", "always", "never"),
            default="auto",
            help="colour the tables (auto: only on a terminal, and not with NO_COLOR)",
        )
        return p

    p = command("threads", "threads with their namespaces, checkpoint counts and last update")
    _paging(p, 20)
    p = command("history", "checkpoints of a thread, newest first")
    p.add_argument("thread_id")
    p.add_argument("--ns", default=None, help="only this checkpoint namespace")
    p.add_argument("--before", default=None, help="checkpoint id: show older ones (paging)")
    p.add_argument("--limit", type=int, default=20, help="checkpoints per page (default 20)")
    p = command("show", "the state of a thread at its latest (or a given) checkpoint")
    p.add_argument("thread_id")
    p.add_argument("checkpoint_id", nargs="?")
    p.add_argument("--ns", default="", help="checkpoint namespace (default: root graph)")
    p.add_argument("--json", action="store_true", help="print the state as JSON")
    p = command("store", "store namespaces with item counts, or the items of one namespace")
    p.add_argument("labels", nargs="*", help="namespace prefix, one label per argument")
    p.add_argument("--items", action="store_true", help="list the items of this namespace")
    _paging(p, 50)
    p = command("stats", "keys and memory by kind (sampled), store engine, TTLs")
    p.add_argument(
        "--scan-limit",
        type=int,
        default=100_000,
        help="keys to look at, at most (bounded SCAN; default 100000)",
    )
    p.add_argument(
        "--sample", type=int, default=200, help="keys per kind measured with MEMORY USAGE"
    )


def _paging(p: argparse.ArgumentParser, limit: int) -> None:
    p.add_argument("--limit", type=int, default=limit, help=f"rows per page (default {limit})")
    p.add_argument("--offset", type=int, default=0, help="rows to skip (paging)")


def run(args: argparse.Namespace) -> int:
    """Run one inspector command; the exit status."""
    color = args.color == "always" or (
        args.color == "auto" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    )
    handler = {
        "threads": _threads,
        "history": _history,
        "show": _show,
        "store": _store,
        "stats": _stats,
    }[args.command]
    lines = handler(args, color)
    for line in lines:
        print(line)
    return 0


def _connection(url: str) -> Connection:
    return connection_for(url, recovery_timeout=2.0)


def _threads(args: argparse.Namespace, color: bool) -> Iterator[str]:
    conn = _connection(args.url)
    try:
        total, ids = conn.run(core.plan_thread_page(args.prefix, args.offset, args.limit))
        ids = ids[: args.limit]
        nss = conn.run(core.plan_thread_namespaces(args.prefix, ids)) if ids else []
        rows = conn.run(core.plan_thread_rows(args.prefix, ids, nss)) if ids else []
    finally:
        conn.close()
    yield core.render_table(
        ["THREAD", "CHECKPOINTS", "NAMESPACES", "LAST UPDATE (UTC)", "LATEST CHECKPOINT"],
        (
            [
                r.thread_id,
                r.checkpoints,
                ", ".join(ns or "(root)" for ns in r.namespaces),
                core.checkpoint_time(r.latest_id),
                r.latest_id or "",
            ]
            for r in rows
        ),
        color=color,
    )
    yield core.dim(_page_note(args.offset, len(rows), total, "threads"), color=color)


def _page_note(offset: int, shown: int, total: int, what: str) -> str:
    if not total:
        return f"no {what}"
    end = offset + shown
    more = f"; next page: --offset {end}" if end < total else ""
    return f"{what} {offset + 1 if shown else offset}-{end} of {total}{more}"


def _history(args: argparse.Namespace, color: bool) -> Iterator[str]:
    configurable: dict[str, Any] = {"thread_id": args.thread_id}
    if args.ns is not None:
        configurable["checkpoint_ns"] = args.ns
    before: RunnableConfig | None = None
    if args.before:
        before = {
            "configurable": {"checkpoint_ns": "", **configurable, "checkpoint_id": args.before}
        }
    with RedisSaver.from_conn_string(args.url, prefix=args.prefix) as saver:
        # One more than a page: the oldest row's parent tells what it changed.
        found = list(
            saver.list({"configurable": configurable}, before=before, limit=args.limit + 1)
        )
    saver.close()
    rows = []
    for i, tup in enumerate(found[: args.limit]):
        parent = next(
            (
                t
                for t in found[i + 1 :]
                if t.config["configurable"]["checkpoint_ns"]
                == tup.config["configurable"]["checkpoint_ns"]
            ),
            None,
        )
        versions = tup.checkpoint.get("channel_versions", {})
        parent_versions = None if parent is None else parent.checkpoint.get("channel_versions")
        if parent is None and tup.parent_config is not None:
            parent_versions = {}  # the parent is on the next page: unknown, show all
        conf = tup.config["configurable"]
        rows.append(
            [
                conf["checkpoint_id"],
                conf["checkpoint_ns"] or "(root)",
                tup.metadata.get("step", ""),
                tup.metadata.get("source", ""),
                len(tup.pending_writes or ()),
                ", ".join(core.changed_channels(versions, parent_versions)),
            ]
        )
    yield core.render_table(
        ["CHECKPOINT", "NS", "STEP", "SOURCE", "WRITES", "CHANGED CHANNELS"], rows, color=color
    )
    if len(found) > args.limit:
        yield core.dim(f"older: --before {rows[-1][0]}", color=color)
    elif not rows:
        yield core.dim(f"no checkpoints for thread {args.thread_id!r}", color=color)


def _show(args: argparse.Namespace, color: bool) -> Iterator[str]:
    configurable = {"thread_id": args.thread_id, "checkpoint_ns": args.ns}
    if args.checkpoint_id:
        configurable["checkpoint_id"] = args.checkpoint_id
    with RedisSaver.from_conn_string(args.url, prefix=args.prefix) as saver:
        tup = saver.get_tuple({"configurable": configurable})
    saver.close()
    if tup is None:
        raise SystemExit(f"no checkpoint for thread {args.thread_id!r}")
    values = tup.checkpoint.get("channel_values", {})
    conf = tup.config["configurable"]
    if args.json:
        yield json.dumps(
            {
                "thread_id": conf["thread_id"],
                "checkpoint_ns": conf["checkpoint_ns"],
                "checkpoint_id": conf["checkpoint_id"],
                "metadata": core.to_jsonable(tup.metadata),
                "values": core.to_jsonable(values),
                "pending_writes": [
                    {"task_id": t, "channel": c, "value": core.to_jsonable(v)}
                    for t, c, v in tup.pending_writes or ()
                ],
            },
            ensure_ascii=False,
            indent=2,
        )
        return
    yield core.dim(
        f"thread {conf['thread_id']}  checkpoint {conf['checkpoint_id']}  "
        f"step {tup.metadata.get('step', '')}  ({core.checkpoint_time(conf['checkpoint_id'])} UTC)",
        color=color,
    )
    for channel in sorted(values):
        if channel.startswith("__"):
            continue
        yield f"{channel}:"
        yield core.pretty_value(values[channel])
    for task_id, channel, value in tup.pending_writes or ():
        yield core.dim(f"pending write {channel} (task {task_id}): {value!r}", color=color)


def _store(args: argparse.Namespace, color: bool) -> Iterator[str]:
    labels = tuple(args.labels)
    conn = _connection(args.url)
    try:
        if args.items:
            items = conn.run(core.plan_item_page(args.prefix, labels, args.offset, args.limit))
        else:
            page = conn.run(core.plan_namespace_page(args.prefix, labels, args.offset, args.limit))
            total = conn.run(core.plan_store_size(args.prefix))
    finally:
        conn.close()
    if args.items:
        yield core.render_table(
            ["KEY", "UPDATED (UTC)", "VALUE"],
            (
                [
                    it.key,
                    it.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
                    core.clip(json.dumps(it.value, ensure_ascii=False), 80),
                ]
                for it in items
            ),
            color=color,
        )
        more = (
            f"; next page: --offset {args.offset + len(items)}" if len(items) >= args.limit else ""
        )
        yield core.dim(f"{len(items)} items of {' / '.join(labels) or '()'}{more}", color=color)
        return
    yield core.render_table(
        ["NAMESPACE", "ITEMS"], ([" / ".join(ns), n] for ns, n in page), color=color
    )
    more = f"; next page: --offset {args.offset + args.limit}" if len(page) >= args.limit else ""
    yield core.dim(f"{len(page)} namespaces shown, {total} in the store{more}", color=color)


def _stats(args: argparse.Namespace, color: bool) -> Iterator[str]:
    conn = _connection(args.url)
    try:
        info: ServerInfo = conn.probe()
        client: Any = conn.client
        kinds: dict[str, core.KindStats] = {}
        scanned = 0
        for raw in client.scan_iter(match=f"{args.prefix}:*", count=1000):
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            stats = kinds.setdefault(core.key_kind(args.prefix, key), core.KindStats())
            stats.keys += 1
            if stats.sampled < args.sample:
                stats.sampled += 1
                stats.sampled_bytes += int(client.memory_usage(key) or 0)
                ttl = int(client.pttl(key))
                if ttl >= 0:
                    stats.with_ttl += 1
                    stats.ttls.append(ttl)
            scanned += 1
            if scanned >= args.scan_limit:
                break
        dbsize = int(client.dbsize())
        memory = client.info("memory").get("used_memory_human", "?")
    finally:
        conn.close()
    yield core.dim(
        f"{info.describe()}; {dbsize} keys in the database, used memory {memory}", color=color
    )
    yield core.render_table(
        ["KIND", "KEYS", "MEMORY (est.)", "WITH TTL (sampled)", "TTL min / median / max"],
        (
            [
                kind,
                s.keys,
                core.human_bytes(s.estimated_bytes),
                f"{s.with_ttl}/{s.sampled}",
                core.summarize_ttls(s.ttls),
            ]
            for kind, s in sorted(kinds.items())
        ),
        color=color,
    )
    engine = "query engine (FT.*)" if info.search and not info.cluster else "plain (client-side)"
    yield core.dim(
        f"store engine chosen automatically: {engine}"
        + (f"; stopped after {scanned} keys (--scan-limit)" if scanned >= args.scan_limit else ""),
        color=color,
    )
