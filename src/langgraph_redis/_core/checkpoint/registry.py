"""The thread registry and run indexes around a write: what rides beside a put's script,
and what follows it (the registry confirmation on a cluster, run indexes a shallow put
left behind).

The registry (``list(None)``) and the run indexes (``delete_for_runs``) live in other
slots than the thread, so on a cluster they cannot join the thread's atomic script; the
functions here say which commands go beside it and why no committed thread stays
unlisted (:func:`_confirm_registry`). On one server the ``PUT`` and ``PUT_WRITES``
scripts write them themselves (see ``plans.py``).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from langgraph_redis._core.checkpoint.config import (
    SaverConfig,
)
from langgraph_redis._core.checkpoint.keys import (
    run_index,
    run_member,
    thread_registry,
)
from langgraph_redis._core.plans import Batch, Command, Op, Script, T, batch, check


def _replies(replies: list[Any]) -> list[Any]:
    check(replies)
    return replies


CONFIRM_REGISTRY = Script(
    "confirm_registry",
    r"""
-- KEYS[1] thread registry; ARGV: score, thread id. Names a thread whose checkpoint is
-- already stored (see _confirm_registry). Nothing is written when the entry is there
-- (the common case). Otherwise its ZADD must not be refused at the memory limit, which
-- would hide stored data, so the script first writes with a command the server allows
-- there (a ZREM of the absent member): after a write, a script runs to its end.
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
return 1
""",
)


def _confirm_registry(
    cfg: SaverConfig, thread_id: str, write: Batch[bool], result: T, now_ms: int
) -> Generator[Batch[Any], Any, T]:
    """A cluster write, then, if it created the thread, its registry entry again.

    On a cluster the thread registry lives in another slot than the thread, so nothing
    is atomic across them: a write sends its registry ``ZADD`` first, and a cluster
    ``delete_thread`` its ``ZREM`` first, each before its script. The one interleaving
    that could hide a thread: write W's ``ZADD``, then delete D's ``ZREM`` and script,
    then W's script, which stores checkpoints the registry no longer names.

    Why no committed thread stays unlisted. Every ``ZREM`` of the thread comes from a
    cluster delete, which sends it, waits for it, then sends its script, and runs to
    its end even when cancelled; every write sends its ``ZADD``, waits for it, then its
    script. Take the thread with checkpoints at rest. If no delete script ever ran in
    its slot, no ``ZREM`` did either (but of deletes that raised, see below), and the
    registry holds the ``ZADD`` of every write. Otherwise let S be the last delete
    script: it emptied the thread, so the first write script after S, W's, found no
    namespace set and reported ``created``, and W sent this confirming ``ZADD`` after
    its script ran, so after S ran, so after every ``ZREM`` whose script ran no later
    than S. A ``ZREM`` after W's confirmation would belong to a delete whose script runs
    after it, after S: there is none. So the registry names the thread. The caller runs
    this plan to its end when cancelled (``afinish``), so no cancellation point falls
    between the script and the confirmation. Left open: a process killed right there,
    or a delete that raised after its ``ZREM`` (repeating it finishes it); and, with
    TTL only, a write that sits longer than its TTL between its ``ZADD`` and its script
    (another write's pruning may remove the entry meanwhile).
    Cost: one more round trip, only when a write creates the thread; any other put is
    still its registry round trip and one script call.
    """
    created = yield write
    if created:
        yield batch([_confirmation(cfg, thread_id, now_ms)], _replies, writes=True)
    return result


def _confirmation(cfg: SaverConfig, thread_id: str, now_ms: int) -> Op:
    ttl_ms = cfg.ttl_seconds * 1000
    score = now_ms + ttl_ms if ttl_ms else 0
    return CONFIRM_REGISTRY.call([thread_registry(cfg.prefix)], [score, thread_id])


def _after_write(
    cfg: SaverConfig,
    thread_id: str,
    created: bool,
    gone: list[str],
    now_ms: int,
    *,
    cluster: bool,
) -> Generator[Batch[Any], Any, None]:
    """After a write, in one more round trip and only when needed: the registry
    confirmation of a thread it created on a cluster (:func:`_confirm_registry`), and
    the thread out of the run indexes of runs a shallow put left with nothing here
    (their run ids already left the thread's run set in the script).

    A run index naming a thread without anything of the run costs ``delete_for_runs``
    one no-op script; if this second step is lost (a process killed between), the
    entry stays, harmless, until the run's index expires (with TTL) or forever.
    """
    follow: list[Op] = []
    if cluster and created:
        follow.append(_confirmation(cfg, thread_id, now_ms))
    follow += [("SREM", run_index(cfg.prefix, r), run_member(thread_id)) for r in gone]
    if follow:
        yield batch(follow, _replies, writes=True)


def _registry_commands(
    cfg: SaverConfig, thread_id: str, ns: str, cid: str, run_id: Any, now_ms: int
) -> list[Command]:
    """Cross-slot index updates of a write: the thread registry and the run index.

    The run index names the thread only (what the run wrote there is listed in the
    thread's slot, see ``ThreadKeys.run``), so it does not grow with the thread.

    Without TTL, thread entries have score 0 and run sets no expiry. With TTL, a thread's
    score is the time its last write (or, with ``refresh_on_read``, read) expires, and
    entries past it are pruned by every write; a run set expires with the last
    checkpoint written under it.
    """
    threads = thread_registry(cfg.prefix)
    ttl_ms = cfg.ttl_seconds * 1000
    cmds: list[Command] = [("ZADD", threads, now_ms + ttl_ms if ttl_ms else 0, thread_id)]
    if ttl_ms:
        cmds.append(("ZREMRANGEBYSCORE", threads, 1, now_ms))
    return cmds + _run_index_commands(cfg, thread_id, run_id)


def _run_index_commands(cfg: SaverConfig, thread_id: str, run_id: Any) -> list[Command]:
    if not run_id:
        return []
    key = run_index(cfg.prefix, str(run_id))
    cmds: list[Command] = [("SADD", key, run_member(thread_id))]
    if cfg.ttl_seconds:
        cmds.append(("EXPIRE", key, cfg.ttl_seconds))
    return cmds
