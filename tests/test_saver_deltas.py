"""Channel deltas (issue 14): growing lists stored as tails, read back exactly.

Random histories of a growing ``messages`` list (appends, edits, removals, in-place
mutations, forks from old checkpoints, subgraph namespaces, interrupts, two writers on
one thread, prune, copy, delete_for_runs, delete) must read back exactly as from
LangGraph's ``InMemorySaver``; storage must stay linear in the final state's size.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, cast

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, RemoveMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    CheckpointMetadata,
    empty_checkpoint,
)
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

from langgraph_redis import RedisSaver, ShallowRedisSaver
from langgraph_redis._core.checkpoint import deltas
from langgraph_redis._core.checkpoint.deltas import DELTA, base_key
from langgraph_redis._core.checkpoint.keys import ThreadKeys
from tests.roundtrips import RoundTrips
from tests.servers import LocalCluster
from tests.test_saver_properties import comparable
from tests.topology import CLUSTER_ENGINES, shared_cluster

SCOPES = [("t1", ""), ("t1", "sub:1"), ("t{2}", "")]
scope = st.sampled_from(range(len(SCOPES)))
writer = st.sampled_from([0, 0, 0, 1])  # mostly one writer; sometimes a second process
op = st.one_of(
    st.tuples(st.just("append"), scope, writer, st.integers(1, 3)),
    st.tuples(st.just("append"), scope, writer, st.integers(1, 3)),
    st.tuples(st.just("append"), scope, writer, st.integers(0, 2)),
    st.tuples(st.just("edit"), scope, writer, st.integers(0, 50)),
    st.tuples(st.just("remove"), scope, writer, st.integers(0, 50)),
    st.tuples(st.just("mutate"), scope, writer, st.integers(0, 50)),
    st.tuples(st.just("fork"), scope, writer, st.integers(1, 6)),
    st.tuples(st.just("scalar"), scope, writer, st.integers(0, 9)),
    st.tuples(st.just("interrupt"), scope, writer, st.integers(0, 9)),
    st.tuples(st.just("prune"), scope, writer, st.just(0)),
    st.tuples(st.just("copy"), scope, writer, st.just(0)),
    st.tuples(st.just("drop_run"), scope, writer, st.integers(0, 2)),
    st.tuples(st.just("delete"), scope, writer, st.just(0)),
)
histories = st.lists(op, min_size=1, max_size=40)


class Oracle(InMemorySaver):
    """InMemorySaver plus the prune, copy and delete-for-runs it leaves unimplemented,
    with our savers' documented meaning (no delta channels in these histories)."""

    def prune(self, thread_ids: Any, *, strategy: str = "keep_latest") -> None:
        for tid in thread_ids:
            for ns, cps in self.storage[tid].items():
                latest = max(cps) if cps else None
                for cid in [c for c in cps if c != latest]:
                    del cps[cid]
                    self.writes.pop((tid, ns, cid), None)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        for ns, cps in self.storage[source_thread_id].items():
            self.storage[target_thread_id][ns] = dict(cps)
            for cid in cps:
                if (source_thread_id, ns, cid) in self.writes:
                    self.writes[(target_thread_id, ns, cid)] = dict(
                        self.writes[(source_thread_id, ns, cid)]
                    )
        for (tid, ns, ch, v), blob in list(self.blobs.items()):
            if tid == source_thread_id:
                self.blobs[(target_thread_id, ns, ch, v)] = blob

    def delete_for_runs(self, run_ids: Any) -> None:
        runs = set(run_ids)
        for tid, nss in self.storage.items():
            for ns, cps in nss.items():
                for cid, (_, meta, _) in list(cps.items()):
                    if self.serde.loads_typed(meta).get("run_id") in runs:
                        del cps[cid]
                        self.writes.pop((tid, ns, cid), None)


class Model:
    """The same history applied to our savers (two writers) and to InMemorySaver."""

    def __init__(self, writers: list[BaseCheckpointSaver[Any]], oracle: Oracle) -> None:
        self.writers = writers
        self.oracle = oracle
        self.heads: dict[tuple[str, str], str] = {}
        self.values: dict[tuple[str, str], list[Any]] = {}  # the list objects last put
        self.history: dict[tuple[str, str], list[tuple[str, list[Any]]]] = {}
        self.versions: dict[tuple[str, str], dict[str, str]] = {}
        self.copies = 0
        self.n = 0

    def item(self) -> dict[str, Any]:
        self.n += 1
        return {"id": f"m{self.n}", "text": "x" * (self.n % 7), "n": self.n}

    def put(self, w: int, key: tuple[str, str], values: dict[str, Any], parent: str | None) -> None:
        tid, ns = key
        run = f"run{self.n % 3}"
        versions = dict(self.versions.get(key, {}))
        new = {}
        for ch in values:
            new[ch] = self.writers[0].get_next_version(versions.get(ch), None)
        versions.update(new)
        cid = str(uuid6())
        cfg: Any = {"configurable": {"thread_id": tid, "checkpoint_ns": ns}}
        if parent:
            cfg["configurable"]["checkpoint_id"] = parent
        for saver in (self.writers[w], self.oracle):
            cp = empty_checkpoint()
            cp["id"] = cid
            cp["channel_values"] = dict(values)
            cp["channel_versions"] = dict(versions)
            meta = cast(CheckpointMetadata, {"run_id": run, "step": self.n})
            saver.put(cfg, cp, meta, dict(new))
        self.heads[key] = cid
        self.versions[key] = versions
        if "messages" in values:
            self.values[key] = values["messages"]
        self.history.setdefault(key, []).append((cid, self.values.get(key, [])))

    def apply(self, step: tuple[str, int, int, int]) -> None:
        kind, s, w, arg = step
        key = SCOPES[s]
        tid, ns = key
        current = self.values.get(key, [])
        if kind == "append":
            self.put(
                w,
                key,
                {"messages": current + [self.item() for _ in range(arg)]},
                self.heads.get(key),
            )
        elif kind == "edit" and current:
            edited = list(current)
            edited[arg % len(current)] = {**edited[arg % len(current)], "text": "edited"}
            self.put(w, key, {"messages": edited}, self.heads.get(key))
        elif kind == "remove" and current:
            self.put(
                w,
                key,
                {"messages": [m for i, m in enumerate(current) if i != arg % len(current)]},
                self.heads.get(key),
            )
        elif kind == "mutate" and current:
            current[arg % len(current)]["text"] += "!"  # in place, then an append
            self.put(w, key, {"messages": [*current, self.item()]}, self.heads.get(key))
        elif kind == "fork" and self.history.get(key):
            cid, value = self.history[key][-min(arg, len(self.history[key]))]
            self.versions[key] = dict(self._versions_at(key, cid))
            self.values[key] = value
            self.put(w, key, {"messages": [*value, self.item()]}, cid)
        elif kind == "scalar":
            self.put(w, key, {"other": arg}, self.heads.get(key))
        elif kind == "interrupt" and key in self.heads:
            cfg: Any = {
                "configurable": {
                    "thread_id": tid,
                    "checkpoint_ns": ns,
                    "checkpoint_id": self.heads[key],
                }
            }
            for saver in (self.writers[w], self.oracle):
                saver.put_writes(cfg, [("__interrupt__", arg), ("messages", [self.n])], "task")
        elif kind == "prune":
            for saver in (self.writers[w], self.oracle):
                saver.prune([tid], strategy="keep_latest")
            for k in [k for k in self.history if k[0] == tid]:
                self.history[k] = self.history[k][-1:]
        elif kind == "copy":
            self.copies += 1
            target = f"copy{self.copies}"
            for saver in (self.writers[w], self.oracle):
                saver.copy_thread(tid, target)
            self.compare_thread(target)
        elif kind == "drop_run":
            for saver in (self.writers[w], self.oracle):
                saver.delete_for_runs([f"run{arg}"])
            for t in {t for t, _ in SCOPES}:  # a run writes to every thread
                self._forget(t)  # what is left is compared; new puts start over
        elif kind == "delete":
            for saver in (self.writers[w], self.oracle):
                saver.delete_thread(tid)
            self._forget(tid)

    def _versions_at(self, key: tuple[str, str], cid: str) -> dict[str, str]:
        tid, ns = key
        found = self.oracle.get_tuple(
            {"configurable": {"thread_id": tid, "checkpoint_ns": ns, "checkpoint_id": cid}}
        )
        assert found is not None
        return cast(dict[str, str], found.checkpoint["channel_versions"])

    def _forget(self, tid: str) -> None:
        for k in [k for k in self.heads if k[0] == tid]:
            self.heads.pop(k, None)
            self.values.pop(k, None)
            self.history.pop(k, None)
            self.versions.pop(k, None)

    def compare_thread(self, tid: str) -> None:
        for saver in self.writers:
            for ns in ("", "sub:1"):
                cfg: Any = {"configurable": {"thread_id": tid, "checkpoint_ns": ns}}
                want = [comparable(t) for t in self.oracle.list(cfg)]
                assert [comparable(t) for t in saver.list(cfg)] == want
                assert comparable(saver.get_tuple(cfg)) == comparable(self.oracle.get_tuple(cfg))
                for t in self.oracle.list(cfg, limit=3):
                    assert comparable(saver.get_tuple(t.config)) == comparable(t)


def _run_history(url: str, history: list[tuple[str, int, int, int]]) -> None:
    prefix = "delta" + uuid.uuid4().hex[:8]
    with (
        RedisSaver.from_conn_string(url, prefix=prefix) as first,
        RedisSaver.from_conn_string(url, prefix=prefix) as second,
    ):
        model = Model([first, second], Oracle())
        for step in history:
            model.apply(step)
            model.compare_thread(SCOPES[step[1]][0])
        for tid in {t for t, _ in SCOPES}:
            model.compare_thread(tid)
        for tid in {t for t, _ in SCOPES}:
            first.delete_thread(tid)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=histories)
def test_histories_match_in_memory_saver(redis_url: str, history: list[Any]) -> None:
    _run_history(redis_url, history)


@pytest.fixture(params=CLUSTER_ENGINES)
def cluster(request: pytest.FixtureRequest) -> LocalCluster:
    return shared_cluster(request.param)


@pytest.mark.cluster
@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=histories)
def test_histories_match_on_cluster(cluster: LocalCluster, history: list[Any]) -> None:
    _run_history(cluster.url, history)


# -- storage ---------------------------------------------------------------------------


def _conversation(saver: BaseCheckpointSaver[Any], tid: str, steps: int) -> list[Any]:
    cfg: Any = {"configurable": {"thread_id": tid, "checkpoint_ns": ""}}
    messages: list[Any] = []
    version = None
    for i in range(steps):
        kind = HumanMessage if i % 2 == 0 else AIMessage
        messages = [*messages, kind(f"message {i}: " + "lorem ipsum " * 20, id=f"id-{i}")]
        version = saver.get_next_version(version, None)
        cp = empty_checkpoint()
        cp["id"] = str(uuid6())
        cp["channel_values"] = {"messages": messages}
        cp["channel_versions"] = {"messages": version}
        cfg = saver.put(cfg, cp, cast(CheckpointMetadata, {"step": i}), {"messages": version})
    return messages


def _client(url: str) -> Any:
    """A bytes client (typed Any: redis-py's stubs type replies loosely)."""
    return redis.Redis.from_url(url)


def _blob_bytes(client: Any, prefix: str, tid: str) -> int:
    base = ThreadKeys(prefix, tid).base
    return sum(int(client.strlen(k)) for k in client.scan_iter(match=f"{base}b:*"))


def test_storage_is_linear_in_the_final_state(redis_url: str, key_prefix: str) -> None:
    """After 160 appended messages the channel's blobs hold <= 3x the final value plus
    a fixed overhead per checkpoint (a delta's header: its base's version and length).

    (Before deltas: every version stored whole, about 80x.)
    """
    client = _client(redis_url)
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        final = _conversation(saver, "t", 160)
        size = len(JsonPlusSerializer().dumps_typed(final)[1])
        assert _blob_bytes(client, key_prefix, "t") <= 3 * size + 160 * 64
        found = saver.get_tuple({"configurable": {"thread_id": "t"}})
        assert found is not None and found.checkpoint["channel_values"]["messages"] == final
        assert len(list(saver.list({"configurable": {"thread_id": "t"}}))) == 160
    client.close()


def test_chains_are_bounded(
    redis_url: str, key_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No read assembles more than MAX_DEPTH + 1 parts, however long the thread."""
    monkeypatch.setattr(deltas, "MAX_DEPTH", 12)  # the same rule, reached in fewer steps
    client = _client(redis_url)
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        _conversation(saver, "t", 8 * deltas.MAX_DEPTH)
        base = ThreadKeys(key_prefix, "t").base
        deepest = 0
        for key in client.scan_iter(match=f"{base}b:*"):
            depth, value, at = 0, client.get(key), key.decode()
            while value is not None and value.startswith(DELTA):
                depth += 1
                at = base_key(at, value)
                value = client.get(at)
            assert value is not None
            deepest = max(deepest, depth)
        assert deepest == deltas.MAX_DEPTH
    client.close()


def test_shallow_storage_stays_bounded(redis_url: str, key_prefix: str) -> None:
    """The shallow saver keeps the latest value's chain only: at most about 2x of it."""
    client = _client(redis_url)
    with ShallowRedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        final = _conversation(saver, "t", 120)
        size = len(JsonPlusSerializer().dumps_typed(final)[1])
        assert _blob_bytes(client, key_prefix, "t") <= 2 * size + 2048
        found = saver.get_tuple({"configurable": {"thread_id": "t"}})
        assert found is not None and found.checkpoint["channel_values"]["messages"] == final
    client.close()


def test_encrypted_serializer_round_trips_deltas(redis_url: str, key_prefix: str) -> None:
    serde = EncryptedSerializer.from_pycryptodome_aes(key=b"0123456789abcdef")
    client = _client(redis_url)
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix, serde=serde) as saver:
        final = _conversation(saver, "t", 40)
        assert any(
            (client.get(k) or b"").startswith(DELTA)
            for k in client.scan_iter(match=f"{ThreadKeys(key_prefix, 't').base}b:*")
        )
        listed = list(saver.list(_cfg("t")))
        assert listed[0].checkpoint["channel_values"]["messages"] == final
        for t in listed:
            msgs = t.checkpoint["channel_values"]["messages"]
            assert msgs == final[: len(msgs)]
    client.close()


# -- a base that is gone, TTL ------------------------------------------------------------


def test_a_vanished_base_gives_a_full_value(redis_url: str, key_prefix: str) -> None:
    """Another process deletes the thread between two puts of a writer: no broken delta."""
    with (
        RedisSaver.from_conn_string(redis_url, prefix=key_prefix) as writer,
        RedisSaver.from_conn_string(redis_url, prefix=key_prefix) as other,
    ):
        msgs = _conversation(writer, "t", 5)
        other.delete_thread("t")
        version = writer.get_next_version(None, None)
        cp = empty_checkpoint()
        cp["id"] = str(uuid6())
        longer = [*msgs, HumanMessage("again", id="again")]
        cp["channel_values"] = {"messages": longer}
        cp["channel_versions"] = {"messages": version}
        cfg: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        writer.put(cfg, cp, {}, {"messages": version})
        found = other.get_tuple(cfg)
        assert found is not None and found.checkpoint["channel_values"]["messages"] == longer


def test_every_base_outlives_what_needs_it(redis_url: str, key_prefix: str) -> None:
    """With TTL, let keys expire in the order the server would (earliest expiry first,
    keys expiring at the same instant together): whatever checkpoint is still there
    reads back whole, never naming a delta whose chain lost a part."""
    client = _client(redis_url)
    with RedisSaver.from_conn_string(
        redis_url, prefix=key_prefix, ttl={"default_ttl": 60}
    ) as saver:
        final = _conversation(saver, "t", 30)
        keys = list(client.scan_iter(match=f"{ThreadKeys(key_prefix, 't').base}*"))
        expiry: dict[int, list[bytes]] = {}
        for key in keys:
            expiry.setdefault(int(client.execute_command("PEXPIRETIME", key)), []).append(key)
        assert min(expiry) > 0  # every key has a TTL
        for at in sorted(expiry):
            client.delete(*expiry[at])
            for t in saver.list(_cfg("t")):
                msgs = t.checkpoint["channel_values"]["messages"]
                assert msgs == final[: len(msgs)]
    client.close()


def test_old_format_data_stays_readable(redis_url: str, key_prefix: str) -> None:
    client = _client(redis_url)
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        final = _conversation(saver, "t", 3)
        keys = ThreadKeys(key_prefix, "t")
        for cid in client.zrange(keys.index(""), 0, -1):
            client.hset(keys.checkpoint("", cid.decode()), "fmt", "1")
        found = saver.get_tuple({"configurable": {"thread_id": "t"}})
        assert found is not None and found.checkpoint["channel_values"]["messages"] == final
    client.close()


def _cfg(tid: str) -> RunnableConfig:
    return {"configurable": {"thread_id": tid}}


def test_a_version_put_again_stays_readable(redis_url: str, key_prefix: str) -> None:
    """A version put again (the migration tool re-puts every channel) never becomes a
    delta on itself."""
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        cfg: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        msgs = [HumanMessage("a", id="a")]
        version = saver.get_next_version(None, None)
        for _ in range(3):
            cp = empty_checkpoint()
            cp["id"] = str(uuid6())
            cp["channel_values"] = {"messages": msgs}
            cp["channel_versions"] = {"messages": version}
            cfg = saver.put(cfg, cp, {}, {"messages": version})
        for t in saver.list(_cfg("t")):
            assert t.checkpoint["channel_values"]["messages"] == msgs


# -- a real graph ----------------------------------------------------------------------


class ChatState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def _chat_graph(saver: BaseCheckpointSaver[Any]) -> Any:
    """A chat with a subgraph that interrupts for approval on every turn."""

    def think(state: ChatState) -> dict[str, Any]:
        n = len(state["messages"])
        return {"messages": [AIMessage(f"thought {n}", id=f"think-{n}")]}

    def approve(state: ChatState) -> dict[str, Any]:
        answer = interrupt({"seen": len(state["messages"])})
        n = len(state["messages"])
        return {"messages": [AIMessage(f"approved: {answer}", id=f"ok-{n}")]}

    sub = StateGraph(ChatState)
    sub.add_node("think", think)
    sub.add_node("approve", approve)
    sub.add_edge(START, "think")
    sub.add_edge("think", "approve")
    sub.add_edge("approve", END)

    def reply(state: ChatState) -> dict[str, Any]:
        n = len(state["messages"])
        return {"messages": [AIMessage(f"reply {n}", id=f"reply-{n}")]}

    graph = StateGraph(ChatState)
    graph.add_node("sub", sub.compile())
    graph.add_node("reply", reply)
    graph.add_edge(START, "sub")
    graph.add_edge("sub", "reply")
    graph.add_edge("reply", END)
    return graph.compile(checkpointer=saver)


def _chat_story(saver: BaseCheckpointSaver[Any]) -> list[Any]:
    graph = _chat_graph(saver)
    cfg: Any = {"configurable": {"thread_id": "chat"}}
    for turn in range(6):
        graph.invoke({"messages": [HumanMessage(f"turn {turn}", id=f"h-{turn}")]}, cfg)
        graph.invoke(Command(resume=f"yes {turn}"), cfg)
    history = list(graph.get_state_history(cfg))
    # time travel: fork from an old checkpoint, edit a message by id, remove one
    old = history[len(history) // 2].config
    forked = graph.update_state(old, {"messages": [HumanMessage("edited", id="h-1")]})
    graph.invoke(None, forked)
    graph.invoke(Command(resume="fork"), forked)
    graph.update_state(cfg, {"messages": [RemoveMessage(id="h-0")]})
    graph.invoke({"messages": [HumanMessage("after", id="h-after")]}, cfg)
    graph.invoke(Command(resume="last"), cfg)

    def seen(s: Any) -> Any:
        interrupts = [[i.value for i in t.interrupts] for t in s.tasks]  # ids are random
        return (s.values, s.next, s.metadata.get("step"), interrupts)

    return [seen(s) for s in graph.get_state_history(cfg)] + [
        seen(graph.get_state(cfg, subgraphs=True))
    ]


def test_chat_graph_history_matches_in_memory_saver(redis_url: str, key_prefix: str) -> None:
    """get_state_history of a chat with subgraph interrupts, a fork from an old
    checkpoint, an edit by id and a removal: identical to InMemorySaver's."""
    client = _client(redis_url)
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        ours = _chat_story(saver)
        assert any(
            (client.get(k) or b"").startswith(DELTA)
            for k in client.scan_iter(match=f"{ThreadKeys(key_prefix, 'chat').base}b:*")
        )
    assert ours == _chat_story(InMemorySaver())
    client.close()


def test_round_trips_with_deltas(redis_url: str, key_prefix: str, roundtrips: RoundTrips) -> None:
    """A delta put and a chained read are one round trip each; only a put whose base
    vanished takes a second (the resend with full values)."""
    client = _client(redis_url)
    with (
        RedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver,
        RedisSaver.from_conn_string(redis_url, prefix=key_prefix) as other,
    ):
        msgs = _conversation(saver, "t", 30)
        cfg: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        latest = saver.get_tuple(cfg)
        assert latest is not None
        version = str(latest.checkpoint["channel_versions"]["messages"])
        for expected in (1, 2):
            if expected == 2:
                other.delete_thread("t")
            version = saver.get_next_version(version, None)
            msgs = [*msgs, HumanMessage(f"more {expected}", id=f"more-{expected}")]
            cp = empty_checkpoint()
            cp["id"] = str(uuid6())
            cp["channel_values"] = {"messages": msgs}
            cp["channel_versions"] = {"messages": version}
            with roundtrips as count:
                cfg = saver.put(cfg, cp, {}, {"messages": version})
            assert count.value == expected
            blob = client.get(ThreadKeys(key_prefix, "t").blob("", "messages", version))
            assert blob.startswith(DELTA) == (expected == 1)
            with roundtrips as count:
                found = saver.get_tuple(cfg)
            assert count.value == 1
            assert found is not None and found.checkpoint["channel_values"]["messages"] == msgs
    client.close()


def test_refresh_on_read_refreshes_whole_chains(redis_url: str, key_prefix: str) -> None:
    """A read with ``refresh_on_read`` extends every link of the chains it read."""
    client = _client(redis_url)
    with RedisSaver.from_conn_string(
        redis_url, prefix=key_prefix, ttl={"default_ttl": 10, "refresh_on_read": True}
    ) as saver:
        _conversation(saver, "t", 30)
        base = ThreadKeys(key_prefix, "t").base
        for key in client.scan_iter(match=f"{base}*"):
            client.pexpire(key, 5_000)  # as if 9.9 of the 10 minutes had passed
        found = saver.get_tuple(_cfg("t"))
        assert found is not None
        key = ThreadKeys(key_prefix, "t").blob(
            "", "messages", str(found.checkpoint["channel_versions"]["messages"])
        )
        links, value = [key], client.get(key)
        assert value.startswith(DELTA)
        while value.startswith(DELTA):
            links.append(base_key(links[-1], value))
            value = client.get(links[-1])
        assert len(links) > 2
        assert all(client.pttl(k) > 60_000 for k in links)
    client.close()


def test_prune_then_copy_keeps_whole_chains(redis_url: str, key_prefix: str) -> None:
    """After prune, the latest checkpoint's chain lives on in blobs no checkpoint names;
    a copy takes them along, and stays readable once the source is gone."""
    with RedisSaver.from_conn_string(redis_url, prefix=key_prefix) as saver:
        final = _conversation(saver, "src", 30)
        saver.prune(["src"], strategy="keep_latest")
        assert len(list(saver.list(_cfg("src")))) == 1
        saver.copy_thread("src", "dst")
        saver.delete_thread("src")
        found = saver.get_tuple(_cfg("dst"))
        assert found is not None and found.checkpoint["channel_values"]["messages"] == final
