"""``langgraph-redis migrate``: copy threads and store items from langgraph-checkpoint-redis.

Sync and I/O only; what the old keys mean and what counts as "already copied" is decided
in :mod:`langgraph_redis._core.migrate`.

Checkpoints are read through the old package's own ``RedisSaver`` (``list`` to find
them, ``get_tuple`` for each; see :func:`_copy_thread`), so channel values, sends,
interrupts and writes decode as the old package returns them
(``langgraph-checkpoint-redis`` must be importable) and written with our
``RedisSaver.put``/``put_writes`` under their original ids and parent links. Store items
are read from the old JSON documents directly and written by our store's write path
(values, TTL, the old vectors or, with ``reembed``, new ones); only their
``created_at``/``updated_at`` are then set by one HSET, which our public API cannot do.

Idempotent: a checkpoint already in the target's index is skipped (its writes are put
again if fewer are there than in the source: ``put_writes`` is idempotent); an item whose
target ``updated_at`` is the source's (or later) is skipped. The source is only read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TextIO

import redis
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple
from langgraph.store.base import IndexConfig, PutOp

from langgraph_redis._core import migrate as core
from langgraph_redis._core.migrate import MigrationReport, OldStoreItem, Skip
from langgraph_redis._core.store.filters import value_tokens
from langgraph_redis._core.store.writes import prepare_puts
from langgraph_redis._sync.saver import RedisSaver
from langgraph_redis._sync.store import RedisStore

Progress = Callable[[str, int, int], None]
"""``progress(kind, done, total)`` with kind ``"checkpoints"`` or ``"items"``."""

SCAN_COUNT = 1000


def _no_embed(texts: Sequence[str]) -> list[list[float]]:
    """Stands in for the embedder when vectors are copied, not computed."""
    raise RuntimeError("the migration copies stored vectors; pass reembed=True to embed")


def _cmd(pipe: Any, *args: Any) -> Any:
    """``execute_command`` (untyped in redis-py) on a client or pipeline."""
    return pipe.execute_command(*args)


def _scan(client: redis.Redis, prefix: str) -> Iterator[str]:
    for key in client.scan_iter(match=core.scan_pattern(prefix), count=SCAN_COUNT):
        yield core.text(key)


def _chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def _target_client(target: RedisSaver | RedisStore, dry_run: bool) -> Any:
    """The target's own client, set up unless ``dry_run``: after its probe (a cluster
    client on a cluster), so the "already there" reads go wherever the target writes."""
    if not dry_run:
        target.setup()
    target._probe()
    return target.client


def _old_saver(url: str, checkpoint_prefix: str, writes_prefix: str) -> Any:
    try:
        from langgraph.checkpoint.redis import RedisSaver as OldRedisSaver
    except ImportError as exc:
        raise RuntimeError(
            "reading threads needs langgraph-checkpoint-redis (0.5.x also reads what "
            "0.4 wrote): install the 'migrate' extra, e.g. pip install '.[migrate]' from a "
            "clone, or pip install 'langgraph-checkpoint-redis>=0.5,<0.6'"
        ) from exc
    old = OldRedisSaver(
        redis_url=url,
        checkpoint_prefix=checkpoint_prefix,
        checkpoint_write_prefix=writes_prefix,
    )
    old.setup()  # creates its search indexes only when they are missing
    return old


def migrate(
    source_url: str,
    target_url: str,
    *,
    target_prefix: str = "lgr",
    source_checkpoint_prefix: str = core.OLD_CHECKPOINT_PREFIX,
    source_writes_prefix: str = core.OLD_WRITES_PREFIX,
    source_store_prefix: str = core.OLD_STORE_PREFIX,
    source_vector_prefix: str = core.OLD_VECTOR_PREFIX,
    index: IndexConfig | None = None,
    reembed: bool = False,
    checkpoint_ttl: float | None = None,
    threads: bool = True,
    store: bool = True,
    dry_run: bool = False,
    batch_size: int = 200,
    workers: int = 4,
    progress: Progress | None = None,
) -> MigrationReport:
    """Copy every thread and store item written by langgraph-checkpoint-redis 0.4-0.5.

    Args:
        source_url: The Redis Stack holding the old data (only read).
        target_url: Where to write (may be the same server: other key names).
        target_prefix: Key prefix of the target saver and store.
        source_*_prefix: The old package's ``checkpoint_prefix``,
            ``checkpoint_write_prefix``, ``store_prefix`` and ``vector_prefix``.
        index: The target store's ``IndexConfig`` (``dims``, ``fields``,
            ``distance_type``...). Without it, vectors are not copied (reported). ``embed``
            is needed only with ``reembed``.
        reembed: Compute vectors with ``index["embed"]`` instead of copying the old ones.
        checkpoint_ttl: ``default_ttl`` (minutes) of the target saver; the old per-key
            expiry of checkpoints is not carried over (reported).
        threads, store: What to copy.
        dry_run: Read and compare only; the report counts what would be copied.
        batch_size: Store items per write round trip.
        workers: Threads copied at once (each thread's checkpoints stay in order).
        progress: Called as ``progress(kind, done, total)`` after each checkpoint / batch
            of items. An exception it raises stops the migration (a re-run resumes).

    Returns:
        A :class:`MigrationReport`.
    """
    report = MigrationReport(dry_run=dry_run)
    src = redis.Redis.from_url(source_url)
    try:
        if threads:
            start = time.perf_counter()
            _copy_threads(
                src,
                source_url,
                target_url,
                target_prefix,
                source_checkpoint_prefix,
                source_writes_prefix,
                checkpoint_ttl,
                dry_run,
                workers,
                progress,
                report,
            )
            report.seconds_threads = time.perf_counter() - start
        if store:
            start = time.perf_counter()
            _copy_store(
                src,
                target_url,
                target_prefix,
                source_store_prefix,
                source_vector_prefix,
                index,
                reembed,
                dry_run,
                batch_size,
                progress,
                report,
            )
            report.seconds_store = time.perf_counter() - start
    finally:
        src.close()
    return report


# --------------------------------------------------------------------------- threads


def _find_threads(
    src: redis.Redis, checkpoint_prefix: str, report: MigrationReport
) -> dict[str, int]:
    """Thread id -> number of checkpoints, from the checkpoint documents (SCAN)."""
    counts: dict[str, int] = defaultdict(int)
    keys = list(_scan(src, checkpoint_prefix))
    for chunk in _chunks(keys, SCAN_COUNT):
        pipe = src.pipeline(transaction=False)
        for key in chunk:
            _cmd(pipe, "JSON.GET", key, "$.thread_id")
            pipe.pttl(key)
        replies = pipe.execute(raise_on_error=False)
        for key, doc, pttl in zip(chunk, replies[::2], replies[1::2]):
            thread = core.first_json(doc) if not isinstance(doc, BaseException) else None
            if not isinstance(thread, str):
                report.skipped.append(Skip("checkpoint", key, "not a checkpoint document"))
                continue
            counts[core.from_storage_safe(thread)] += 1
            if isinstance(pttl, int) and pttl > 0:
                report.checkpoint_keys_with_ttl += 1
    return dict(sorted(counts.items()))


def _copy_threads(
    src: redis.Redis,
    source_url: str,
    target_url: str,
    target_prefix: str,
    checkpoint_prefix: str,
    writes_prefix: str,
    checkpoint_ttl: float | None,
    dry_run: bool,
    workers: int,
    progress: Progress | None,
    report: MigrationReport,
) -> None:
    found = _find_threads(src, checkpoint_prefix, report)
    report.threads = len(found)
    total = sum(found.values())
    if not found:
        return
    old = _old_saver(source_url, checkpoint_prefix, writes_prefix)
    ttl = {"default_ttl": checkpoint_ttl} if checkpoint_ttl else None
    saver = RedisSaver(target_url, prefix=target_prefix, ttl=ttl)
    try:
        dst = _target_client(saver, dry_run)

        def one(thread_id: str, count: int) -> MigrationReport:
            part = MigrationReport(dry_run=dry_run)
            config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
            # newest first across namespaces; copy oldest first so parents come first
            tuples: list[CheckpointTuple] = list(old.list(config, limit=count))[::-1]
            part.threads_copied = _copy_thread(
                dst, old, saver, target_prefix, thread_id, tuples, dry_run, part
            )
            return part

        # Threads are independent: copy several at once (each copy is a series of round
        # trips, mostly waiting). At most 4 * workers are in flight, so memory stays
        # bounded; a failure (or a progress callback raising) cancels the rest.
        pool = ThreadPoolExecutor(max_workers=max(1, workers))
        pending: set[Future[MigrationReport]] = set()
        todo = iter(found.items())
        try:
            while True:
                for thread_id, count in todo:
                    pending.add(pool.submit(one, thread_id, count))
                    if len(pending) >= 4 * workers:
                        break
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    report.merge(fut.result())
                if progress is not None:
                    progress("checkpoints", report.checkpoints, total)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        saver.close()
        old._redis.close()


def _copy_thread(
    dst: Any,
    old: Any,
    saver: RedisSaver,
    prefix: str,
    thread_id: str,
    tuples: Sequence[CheckpointTuple],
    dry_run: bool,
    report: MigrationReport,
) -> int:
    """Copy one thread's missing checkpoints and writes; 1 if anything was copied.

    ``tuples`` (from the old ``list``) say what exists. The checkpoint itself is taken
    from the old ``get_tuple``: the old ``list`` returns LangChain messages in channel
    values as serialized dicts, ``get_tuple`` revives them (as the graph saw them). The
    pending writes are the fuller of the two: the old ``get_tuple`` misses the writes of
    some checkpoints (e.g. a task's ``Send`` packets) that ``list`` returns."""
    namespaces = sorted({t.config["configurable"].get("checkpoint_ns", "") for t in tuples})
    pipe = dst.pipeline(transaction=False)
    for cmd in core.present_commands(prefix, thread_id, namespaces):
        _cmd(pipe, *cmd)
    present = {
        ns: {core.text(cid) for cid in ids}
        for ns, ids in zip(namespaces, pipe.execute(), strict=True)
    }
    there = [
        t
        for t in tuples
        if t.config["configurable"]["checkpoint_id"]
        in present[t.config["configurable"].get("checkpoint_ns", "")]
    ]
    counts: list[Any] = []
    if there:
        pipe = dst.pipeline(transaction=False)
        for t in there:
            c = t.config["configurable"]
            _cmd(
                pipe,
                *core.write_count_command(
                    prefix, thread_id, c.get("checkpoint_ns", ""), c["checkpoint_id"]
                ),
            )
        counts = pipe.execute()
    write_count = {id(t): int(n) for t, n in zip(there, counts, strict=True)}
    copied = 0
    for t in tuples:
        report.checkpoints += 1
        c = t.config["configurable"]
        ns = c.get("checkpoint_ns", "")
        cid = c["checkpoint_id"]
        writes = t.pending_writes or []
        new = id(t) not in write_count
        if new:
            report.checkpoints_copied += 1
        else:
            report.checkpoints_present += 1
            if not core.writes_missing(write_count[id(t)], writes):
                continue
        copied = 1
        report.writes_copied += len(writes)
        if dry_run:
            continue
        full: CheckpointTuple | None = old.get_tuple(t.config)
        if full is None:
            report.skipped.append(
                Skip("checkpoint", f"{thread_id}/{ns}/{cid}", "gone while being copied (TTL?)")
            )
            continue
        if new:
            parent = (full.parent_config or {}).get("configurable", {}).get("checkpoint_id")
            put_config: RunnableConfig = {
                "configurable": {"thread_id": thread_id, "checkpoint_ns": ns}
            }
            if parent:
                put_config["configurable"]["checkpoint_id"] = parent
            versions = dict(full.checkpoint.get("channel_versions") or {})
            saver.put(put_config, full.checkpoint, full.metadata, versions)
        target: RunnableConfig = {
            "configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": cid}
        }
        for task_id, task_writes in core.group_writes(
            core.fuller(writes, full.pending_writes or [])
        ):
            saver.put_writes(target, task_writes, task_id)
    return copied


# --------------------------------------------------------------------------- store


def _read_items(
    src: redis.Redis, keys: Sequence[str], store_prefix: str, vector_prefix: str
) -> list[OldStoreItem | Skip]:
    pipe = src.pipeline(transaction=False)
    for key in keys:
        _cmd(pipe, "JSON.GET", key, "$")
        pipe.pttl(key)
        vkey = core.vector_doc_key(key, store_prefix, vector_prefix)
        pipe.type(vkey)
    replies = pipe.execute(raise_on_error=False)
    out: list[OldStoreItem | Skip] = []
    vec_pipe = src.pipeline(transaction=False)
    wanted: list[OldStoreItem] = []
    for i, key in enumerate(keys):
        doc, pttl, vtype = replies[3 * i : 3 * i + 3]
        decoded = core.decode_store_doc(key, None if isinstance(doc, BaseException) else doc, pttl)
        out.append(decoded)
        if isinstance(decoded, OldStoreItem):
            kind = core.text(vtype) if not isinstance(vtype, BaseException) else "none"
            vkey = core.vector_doc_key(key, store_prefix, vector_prefix)
            if kind == "ReJSON-RL":
                _cmd(vec_pipe, "JSON.GET", vkey, "$")
                wanted.append(decoded)
            elif kind == "hash":
                vec_pipe.hgetall(vkey)
                wanted.append(decoded)
    if wanted:
        for item, reply in zip(wanted, vec_pipe.execute(raise_on_error=False), strict=True):
            item.vector, item.vector_path = core.decode_vector(reply)
    return out


def _copy_store(
    src: redis.Redis,
    target_url: str,
    target_prefix: str,
    store_prefix: str,
    vector_prefix: str,
    index: IndexConfig | None,
    reembed: bool,
    dry_run: bool,
    batch_size: int,
    progress: Progress | None,
    report: MigrationReport,
) -> None:
    keys = sorted(_scan(src, store_prefix))
    if not keys:
        return
    if reembed and (index is None or index.get("embed") is None):
        raise ValueError("reembed needs index= with an 'embed'")
    store_index: Any = None
    if index is not None:
        store_index = dict(index) if reembed else {**index, "embed": _no_embed}
    target = RedisStore(target_url, prefix=target_prefix, index=store_index)
    try:
        dst = _target_client(target, dry_run)
        done = 0
        for chunk in _chunks(keys, batch_size):
            decoded = _read_items(src, chunk, store_prefix, vector_prefix)
            items = [d for d in decoded if isinstance(d, OldStoreItem)]
            report.items += len(items)
            report.skipped += [d for d in decoded if isinstance(d, Skip)]
            pipe = dst.pipeline(transaction=False)
            for item in items:
                pipe.hmget(core.item_key(target_prefix, item.namespace, item.key), ["ca", "ua"])
            current = pipe.execute() if items else []
            todo = [
                item
                for item, ua in zip(items, current, strict=True)
                if not core.item_is_current(ua, item)
            ]
            report.items_present += len(items) - len(todo)
            if todo:
                _write_items(dst, target, target_prefix, todo, index, reembed, dry_run, report)
            done += len(chunk)
            if progress is not None:
                progress("items", done, len(keys))
    finally:
        target.close()


def _put_op(item: OldStoreItem) -> PutOp:
    ttl = None if item.ttl_ms is None else item.ttl_ms / 60_000
    return PutOp(item.namespace, item.key, item.value, ttl=ttl)


def _write_items(
    dst: Any,
    target: RedisStore,
    prefix: str,
    items: Sequence[OldStoreItem],
    index: IndexConfig | None,
    reembed: bool,
    dry_run: bool,
    report: MigrationReport,
) -> None:
    """Write a batch of items through the store's write path, then restore timestamps."""
    cfg = target._vector_config
    ok: list[OldStoreItem] = []
    if reembed:
        ops = [_put_op(i) for i in items]
        if not dry_run:
            target.batch(ops)
        ok = list(items)
        report.items_reembedded += len(items)
    else:
        prepared_all = []
        vectors: list[list[float]] = []
        for item in items:
            try:
                (prepared,) = prepare_puts([_put_op(item)], cfg)
            except (TypeError, ValueError) as exc:
                report.skipped.append(Skip("item", f"{item.namespace}/{item.key!r}", str(exc)))
                continue
            # our write path would embed these texts; we use the stored vector instead
            prepared.texts = []
            prepared.tokens = []
            if item.vector is not None:
                where = f"{item.namespace}/{item.key!r}"
                if cfg is None:
                    report.skipped.append(
                        Skip("vector", where, "no index= given for the target store")
                    )
                elif len(item.vector) != cfg.dims:
                    report.skipped.append(
                        Skip("vector", where, f"{len(item.vector)} dims, index has {cfg.dims}")
                    )
                else:
                    prepared.texts = [(item.vector_path or "$", "")]
                    prepared.tokens = value_tokens(item.value)
                    vectors.append(item.vector)
                    report.vectors_copied += 1
            prepared_all.append(prepared)
            ok.append(item)
        if prepared_all and not dry_run:
            target._write_prepared(prepared_all, vectors)
    if not dry_run and ok:
        pipe = dst.pipeline(transaction=False)
        for item in ok:
            _cmd(pipe, *core.restore_timestamps(prefix, item))
        pipe.execute()
    report.items_copied += len(ok)


# --------------------------------------------------------------------------- CLI


class _Bar:
    """A one-line progress bar on a TTY; plain count lines (every 10%) otherwise."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.last: dict[str, int] = {}

    def __call__(self, kind: str, done: int, total: int) -> None:
        if self.tty:
            width = 30
            filled = width * done // max(total, 1)
            self.out.write(f"\r{kind:<12} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
            if done >= total:
                self.out.write("\n")
            self.out.flush()
            return
        step = max(total // 10, 1)
        if done >= total or done // step != self.last.get(kind, -1):
            self.last[kind] = done // step
            self.out.write(f"{kind}: {done}/{total}\n")
            self.out.flush()


def add_command(subparsers: Any) -> None:
    """Register ``migrate`` on the CLI's subparsers."""
    p = subparsers.add_parser(
        "migrate",
        help="copy threads and store items from langgraph-checkpoint-redis (0.4-0.5)",
        description="Copy every thread (checkpoints, writes, metadata) and store item "
        "(value, timestamps, TTL, vectors) written by langgraph-checkpoint-redis 0.4-0.5 "
        "into langgraph-redis. Idempotent: a re-run copies only what is missing.",
    )
    p.add_argument("--from", dest="source", required=True, help="URL of the old data")
    p.add_argument("--to", dest="target", required=True, help="URL to write to")
    p.add_argument("--target-prefix", default="lgr", help="key prefix of the target (lgr)")
    p.add_argument("--dry-run", action="store_true", help="count what would be copied")
    p.add_argument("--source-checkpoint-prefix", default=core.OLD_CHECKPOINT_PREFIX)
    p.add_argument("--source-writes-prefix", default=core.OLD_WRITES_PREFIX)
    p.add_argument("--source-store-prefix", default=core.OLD_STORE_PREFIX)
    p.add_argument("--source-vector-prefix", default=core.OLD_VECTOR_PREFIX)
    p.add_argument("--index-dims", type=int, help="dims of the target store's vector index")
    p.add_argument("--index-fields", help="comma-separated JSON paths embedded ($)")
    p.add_argument("--index-distance", default="cosine", choices=["cosine", "l2", "inner_product"])
    p.add_argument(
        "--reembed",
        metavar="PROVIDER:MODEL",
        help="embed again with this model (LangGraph's init_embeddings) instead of "
        "copying the stored vectors",
    )
    p.add_argument("--workers", type=int, default=4, help="threads copied at once (4)")
    p.add_argument("--checkpoint-ttl", type=float, help="target checkpoint TTL in minutes")
    p.add_argument("--no-threads", action="store_true", help="copy only the store")
    p.add_argument("--no-store", action="store_true", help="copy only the threads")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``migrate`` from parsed arguments; 0 when nothing was skipped, else 1."""
    index: dict[str, Any] | None = None
    if args.index_dims:
        index = {"dims": args.index_dims, "distance_type": args.index_distance}
        if args.index_fields:
            index["fields"] = args.index_fields.split(",")
        if args.reembed:
            index["embed"] = args.reembed
    elif args.reembed:
        print("--reembed needs --index-dims", file=sys.stderr)
        return 2
    report = migrate(
        args.source,
        args.target,
        target_prefix=args.target_prefix,
        source_checkpoint_prefix=args.source_checkpoint_prefix,
        source_writes_prefix=args.source_writes_prefix,
        source_store_prefix=args.source_store_prefix,
        source_vector_prefix=args.source_vector_prefix,
        index=index,  # type: ignore[arg-type]
        reembed=bool(args.reembed),
        checkpoint_ttl=args.checkpoint_ttl,
        threads=not args.no_threads,
        store=not args.no_store,
        dry_run=args.dry_run,
        workers=args.workers,
        progress=None if args.json else _Bar(sys.stderr),
    )
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        print(report.summary())
    return 1 if report.skipped else 0
