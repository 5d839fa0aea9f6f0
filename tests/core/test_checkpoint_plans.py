"""The checkpointer's plans, read without a server: which commands each call emits.

The core is I/O-free, so what a saver call sends (one script call, its keys, the
cross-slot bookkeeping beside it) is checked here directly; the server tests check what
the scripts do with it.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import Checkpoint, empty_checkpoint
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from langgraph_redis._core import plans as pl
from langgraph_redis._core import probe as sv
from langgraph_redis._core import urls
from langgraph_redis._core.checkpoint import config as cfgm
from langgraph_redis._core.checkpoint import keys as ck
from langgraph_redis._core.checkpoint import listing, reads
from langgraph_redis._core.checkpoint import plans as cp

SERDE = JsonPlusSerializer()


def _cfg(ttl_seconds: int = 0, refresh: bool = False) -> cfgm.SaverConfig:
    return cfgm.SaverConfig(SERDE, "pfx", ttl_seconds, refresh)


def _config(thread: str = "t1", ns: str = "", cid: str | None = None) -> RunnableConfig:
    conf: dict[str, Any] = {"thread_id": thread, "checkpoint_ns": ns}
    if cid is not None:
        conf["checkpoint_id"] = cid
    return {"configurable": conf}


def _checkpoint(values: dict[str, Any]) -> Checkpoint:
    ckpt = empty_checkpoint()
    ckpt["channel_values"] = dict(values)
    ckpt["channel_versions"] = {name: "1" for name in values}
    return ckpt


def _put(*args: Any, **kwargs: Any) -> pl.Batch[Any]:
    """``plan_put`` of a put with no delta (no earlier write to extend): one batch."""
    plan = cp.plan_put(*args, **kwargs)
    assert isinstance(plan, pl.Batch)
    return plan


def _only_call(batch: pl.Batch[Any]) -> pl.ScriptCall:
    assert len(batch.commands) == 1
    call = batch.commands[0]
    assert isinstance(call, pl.ScriptCall)
    return call


# --------------------------------------------------------------------------- plan_put


def test_put_is_one_script_call_on_the_thread_slot() -> None:
    """On a cluster every key of the script is in the thread's slot (atomic there); the
    thread registry goes beside it."""
    ckpt = _checkpoint({"a": 1, "b": 2})
    plan = cp.plan_put(_cfg(), _config(), ckpt, {}, {"a": "1"}, cluster=True)
    assert not isinstance(plan, pl.Batch)
    batch = next(plan)
    call = _only_call(batch)
    keys = ck.ThreadKeys("pfx", "t1")
    assert call.script is cp.PUT
    assert call.keys[0] == keys.checkpoint("", ckpt["id"])
    assert call.keys[1:] == (keys.index(""), keys.namespaces, keys.registry, keys.blobs(""))
    assert all(str(k).startswith(keys.base) for k in call.keys)  # one slot: atomic
    assert batch.writes  # wait_replicas waits after it
    # only the channel in new_versions is sent as a blob; both are referenced
    assert call.args.count(keys.blob("", "a", "1")) == 2
    assert call.args.count(keys.blob("", "b", "1")) == 1
    assert batch.decode([[1]]) == (False, [])  # the script replies {1}: not created


def test_put_on_one_server_is_one_script_call_naming_the_registries() -> None:
    """One server: nothing beside the script (no MULTI/EXEC); the script declares the
    thread registry and the run index among its keys and writes them itself."""
    ckpt = _checkpoint({"a": 1})
    keys = ck.ThreadKeys("pfx", "t1")
    plain = _put(_cfg(), _config(), ckpt, {}, {"a": "1"}, now_ms=5_000)
    call = _only_call(plain)
    assert plain.side == ()
    assert call.keys[1:] == (
        keys.index(""),
        keys.namespaces,
        keys.registry,
        keys.blobs(""),
        ck.thread_registry("pfx"),
    )
    assert call.args[4:7] == (0, 5_000, "t1")  # registry score (no TTL: 0), prune bound
    assert plain.decode([[1]]) == _config(cid=ckpt["id"])  # the script replies {1}
    ttl = _put(_cfg(ttl_seconds=60), _config(), ckpt, {"run_id": "r1"}, {}, now_ms=5_000)
    call = _only_call(ttl)
    assert ttl.side == ()
    assert call.keys[5:] == (ck.thread_registry("pfx"), ck.run_index("pfx", "r1"))
    assert call.args[4:7] == (65_000, 5_000, "t1")


def test_put_on_a_cluster_registers_the_thread_beside_the_script() -> None:
    ckpt = _checkpoint({})
    plain = cp.plan_put(_cfg(), _config(), ckpt, {}, {}, now_ms=5_000, cluster=True)
    assert not isinstance(plain, pl.Batch)  # + the confirmation when it creates the thread
    first = next(plain)
    assert first.side == (("ZADD", ck.thread_registry("pfx"), 0, "t1"),)
    assert len(_only_call(first).keys) == 5  # nothing outside the thread's slot
    ttl = cp.plan_put(
        _cfg(ttl_seconds=60), _config(), ckpt, {"run_id": "r1"}, {}, now_ms=5_000, cluster=True
    )
    assert not isinstance(ttl, pl.Batch)
    side = next(ttl).side
    assert side[:2] == (
        ("ZADD", ck.thread_registry("pfx"), 65_000, "t1"),
        ("ZREMRANGEBYSCORE", ck.thread_registry("pfx"), 1, 5_000),
    )
    assert [c[0] for c in side[2:]] == ["SADD", "EXPIRE"]  # the run index, expiring


def test_put_writes_names_the_run_index_in_the_script_on_one_server() -> None:
    config: RunnableConfig = {**_config(cid="c1"), "metadata": {"run_id": "r1"}}
    one = cp.plan_put_writes(_cfg(), config, [("x", 1)], "task")
    assert one.side == ()
    assert _only_call(one).keys[-1] == ck.run_index("pfx", "r1")
    assert _only_call(one).args[4] == ck.run_member("t1")
    cluster = cp.plan_put_writes(_cfg(), config, [("x", 1)], "task", cluster=True)
    assert cluster.side == (("SADD", ck.run_index("pfx", "r1"), ck.run_member("t1")),)
    assert len(_only_call(cluster).keys) == 6  # nothing outside the thread's slot
    none = cp.plan_put_writes(_cfg(), _config(cid="c1"), [("x", 1)], "task")
    assert none.side == () and len(_only_call(none).keys) == 6  # no run id: no run index


def test_put_shallow_is_the_same_script_with_a_flag() -> None:
    ckpt = _checkpoint({})
    full = _only_call(_put(_cfg(), _config(), ckpt, {}, {}))
    # shallow: the same script first, then (when it left runs) one follow-up round trip
    plan = cp.plan_put(_cfg(), _config(), ckpt, {}, {}, shallow=True)
    assert not isinstance(plan, pl.Batch)
    shallow = _only_call(next(plan))
    assert full.script is shallow.script
    assert (full.args[3], shallow.args[3]) == (0, 1)


def test_put_serializes_before_any_io() -> None:
    ckpt = _checkpoint({"a": object()})
    with pytest.raises(ValueError, match="channel 'a'"):
        _put(_cfg(), _config(), ckpt, {}, {"a": "1"})


def test_put_refuses_a_checkpoint_without_id() -> None:
    with pytest.raises(ValueError, match="'id'"):
        _put(_cfg(), _config(), {}, {}, {})


# ---------------------------------------------------------------------- plan_get_tuple


def test_get_tuple_is_one_script_call() -> None:
    batch = reads.plan_get_tuple(_cfg(), _config(cid="c9"))
    call = _only_call(batch)
    keys = ck.ThreadKeys("pfx", "t1")
    assert call.script is reads.GET_TUPLE
    assert call.keys == (keys.index(""),)
    assert call.args[0] == "c9"
    assert call.args[3] == 0  # no refresh: nothing to touch
    assert batch.side == ()
    assert not batch.writes


def test_get_tuple_with_refresh_touches_the_thread_and_its_registry_entry() -> None:
    batch = reads.plan_get_tuple(_cfg(ttl_seconds=60, refresh=True), _config(), now_ms=1_000)
    call = _only_call(batch)
    assert call.args[0] == ""  # latest
    assert call.args[3] == 60
    assert batch.side == (("ZADD", ck.thread_registry("pfx"), "XX", "GT", 61_000, "t1"),)


def test_get_tuple_needs_a_thread_id() -> None:
    with pytest.raises(ValueError, match="thread_id"):
        reads.plan_get_tuple(_cfg(), {"configurable": {}})


# --------------------------------------------------------------------------- listing


def test_list_query_normalises_limit_and_refuses_bad_types() -> None:
    assert listing.list_query(None, filter=None, before=None, limit=-1).limit is None
    assert listing.list_query(None, filter=None, before=None, limit=3).limit == 3
    with pytest.raises(TypeError, match="limit"):
        listing.list_query(None, filter=None, before=None, limit="3")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="filter"):
        listing.list_query(None, filter=[("a", 1)], before=None, limit=None)  # type: ignore[arg-type]


def _drive(gen: Generator[pl.Batch[Any], Any, Any], replies: list[list[Any]]) -> Any:
    """Run a multi-step plan against canned replies; return (batches seen, result)."""
    seen: list[pl.Batch[Any]] = []
    try:
        batch = next(gen)
        for reply in replies:
            seen.append(batch)
            batch = gen.send(batch.decode(reply))
    except StopIteration as stop:
        return seen, stop.value
    raise AssertionError(f"plan still running after {len(replies)} replies")


def test_list_scopes_read_registries_never_scan() -> None:
    cfg = _cfg()
    q = listing.list_query(_config("t1", "ns"), filter=None, before=None, limit=None)
    assert _drive(listing.plan_list_scopes(cfg, q), []) == ([], [("t1", "ns")])  # no round trip

    q = listing.list_query(
        {"configurable": {"thread_id": "t1"}}, filter=None, before=None, limit=None
    )
    seen, scopes = _drive(listing.plan_list_scopes(cfg, q), [[[b"b", b""]]])
    assert [b.commands for b in seen] == [(("SMEMBERS", cfg.keys("t1").namespaces),)]
    assert scopes == [("t1", ""), ("t1", "b")]

    q = listing.list_query(None, filter=None, before=None, limit=None)
    seen, scopes = _drive(listing.plan_list_scopes(cfg, q), [[[b"t2"]], [[b""]]])
    assert seen[0].commands == (("ZRANGE", ck.thread_registry("pfx"), 0, -1),)
    assert scopes == [("t2", "")]
    assert all(cmd[0] != "SCAN" for b in seen for cmd in b.commands if isinstance(cmd, tuple))


# ----------------------------------------------------------------- probe and URLs


def test_probe_is_one_round_trip_and_errors_are_answers() -> None:
    probe = sv.plan_probe()
    assert [c[0] for c in probe.commands if isinstance(c, tuple)] == [
        "INFO",
        "INFO",
        "FT._LIST",
        "HELLO",
    ]
    info = probe.decode(
        [
            b"# Server\r\nredis_version:7.4.1\r\nvalkey_version:9.0.0\r\n",
            "cluster_enabled:1\r\n",
            Exception("ERR unknown command 'FT._LIST'"),
            {},
        ]
    )
    assert info == sv.ServerInfo("valkey", (9, 0, 0), True, False)
    redis = probe.decode([{"redis_version": "8.0.2"}, {"cluster_enabled": "0"}, [], {}])
    assert redis == sv.ServerInfo("redis", (8, 0, 2), False, True)


def test_probe_falls_back_to_hello_when_info_is_denied() -> None:
    denied = Exception("NOPERM")
    hello_resp2 = [b"server", b"redis", b"version", b"7.2.4", b"mode", b"cluster"]
    info = sv.decode_server_info([denied, denied, denied, hello_resp2])
    assert info == sv.ServerInfo("redis", (7, 2, 4), True, False)
    unknown = sv.decode_server_info([denied, denied, [], denied])
    assert unknown.version == ()


def test_old_servers_are_refused() -> None:
    with pytest.raises(RuntimeError, match=r"valkey >= 7\.2"):
        sv.require_supported(sv.ServerInfo("valkey", (7, 0), False, False))
    sv.require_supported(sv.ServerInfo("redis", (), False, False))  # unknown: allowed


def test_sentinel_url_parts() -> None:
    t = urls.parse_sentinel_url("rediss+sentinel://u%40x:p%3Aw@h1:1,[::1]:2,h3/my%20svc/3?a=1&a=2")
    assert t.hosts == (("h1", 1), ("::1", 2), ("h3", 26379))
    assert (t.service, t.db, t.username, t.password, t.ssl) == ("my svc", 3, "u@x", "p:w", True)
    assert t.options == {"a": "2"}
    plain = urls.parse_sentinel_url("redis+sentinel://h/svc")
    assert (plain.db, plain.username, plain.ssl) == (0, None, False)


@pytest.mark.parametrize(
    "url",
    ["redis://h:1/0", "redis+sentinel://h:1", "redis+sentinel:///svc"],
)
def test_bad_sentinel_urls_say_what_is_missing(url: str) -> None:
    with pytest.raises(ValueError, match=r"sentinel URL|not a sentinel"):
        urls.parse_sentinel_url(url)
