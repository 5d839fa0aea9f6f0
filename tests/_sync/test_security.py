# WARNING: generated from tests/_async/test_security.py by scripts/async_to_sync.py.
# DO NOT EDIT: change the async source and regenerate.
"""TLS and least-privilege ACL users (the lines documented in ``docs/security.md``).

The sync twin (``tests/_sync/test_security.py``) is generated from this file.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.exceptions import NoPermissionError, ResponseError

from langgraph_redis import RedisSaver
from langgraph_redis._acompat import Redis
from tests._sync.test_saver import _interrupt_story, config, snapshot
from tests.acl import Login, acl_line, as_user, documented_commands
from tests.acl import acl_user as new_acl_user
from tests.conformance import run_conformance
from tests.servers import LocalServer, require_engine, start_tls_server
from tests.tls import write_tls_files

# Every command the checkpointers send, directly or from their Lua scripts, plus the
# connection handshake (HELLO, AUTH) and the optional WAIT, as docs/security.md lists
# them. redis-py's CLIENT SETINFO may be denied: it ignores the error.
SAVER_COMMANDS = documented_commands("lgr_app")


@pytest.fixture
def acl_user(redis_url: str, key_prefix: str) -> Iterator[Login]:
    """A user allowed only the saver's commands on ``key_prefix:*``; removed afterwards."""
    with new_acl_user(redis_url, key_prefix, SAVER_COMMANDS) as (_, login):
        yield login


def test_conformance_as_least_privilege_user(
    key_prefix: str,
    acl_user: Login,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = acl_user.url
    report = run_conformance(
        lambda: RedisSaver.from_conn_string(url, prefix=key_prefix)
    )
    failures = {n: r.failures for n, r in report.results.items() if not r.passed}
    assert not failures, failures
    with RedisSaver.from_conn_string(url, prefix=key_prefix) as saver:
        assert len(_interrupt_story(saver)) == 7
    assert acl_user.password not in caplog.text  # the password never reaches a log line


def test_conformance_with_ttl_as_least_privilege_user(
    key_prefix: str, acl_user: Login
) -> None:
    """TTL adds commands (expiry bookkeeping in the scripts): they must be in the ACL too."""
    url = acl_user.url
    ttl = {"default_ttl": 5, "refresh_on_read": True}
    report = run_conformance(
        lambda: RedisSaver.from_conn_string(url, prefix=key_prefix, ttl=ttl)
    )
    failures = {n: r.failures for n, r in report.results.items() if not r.passed}
    assert not failures, failures


def test_user_cannot_touch_other_prefixes(key_prefix: str, acl_user: Login) -> None:
    url = acl_user.url
    with RedisSaver.from_conn_string(url, prefix=key_prefix) as mine:
        stored = mine.put(config("t"), snapshot({"a": 1}), {}, {"a": "1"})
        assert mine.get_tuple(stored) is not None
    with RedisSaver.from_conn_string(url, prefix=key_prefix + "x") as other:
        with pytest.raises(ResponseError, match=r"(?i)noperm|no permissions"):
            other.put(config("t"), snapshot({"a": 1}), {}, {"a": "1"})
        with pytest.raises(ResponseError, match=r"(?i)noperm|no permissions"):
            other.get_tuple(config("t"))
    client = Redis.from_url(url)
    try:
        with pytest.raises(NoPermissionError):
            client.get("other:key")
        for denied in (("KEYS", "*"), ("FLUSHALL",), ("CONFIG", "GET", "*"), ("MODULE", "LIST")):
            with pytest.raises(NoPermissionError):
                client.execute_command(*denied)  # type: ignore[no-untyped-call]
    finally:
        client.close()


def test_probe_without_info_or_search(
    redis_url: str, key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """INFO and FT._LIST denied (NOPERM): HELLO gives the server facts instead."""
    if redis_url.startswith("rediss") or "@" in redis_url:
        pytest.skip("needs an admin connection to create ACL users")
    user, password = f"lgr_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    commands = SAVER_COMMANDS.replace("+info ", "")
    admin = Redis.from_url(redis_url)
    try:
        admin.execute_command(  # type: ignore[no-untyped-call]
            "ACL", "SETUSER", *acl_line(user, password, key_prefix, commands)
        )
        url = as_user(redis_url, user, password)
        with RedisSaver.from_conn_string(url, prefix=key_prefix) as saver:
            info = saver.setup()
            assert info.version >= (6, 2) and not info.cluster and not info.search
            stored = saver.put(config("t"), snapshot({"a": 1}), {}, {"a": "1"})
            assert saver.get_tuple(stored) is not None
    finally:
        admin.execute_command("ACL", "DELUSER", user)  # type: ignore[no-untyped-call]
        admin.close()
    assert "INFO is not permitted" in caplog.text


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A throw-away CA and a server certificate for 127.0.0.1, made with trustme."""
    return write_tls_files(tmp_path_factory.mktemp("tls"), client_cert=True)


@pytest.fixture(scope="module", params=["redis7", "redis8"])
def tls_server(request: pytest.FixtureRequest, tls_files: dict[str, str]) -> Iterator[LocalServer]:
    """Redis 7 and 8 (both built with TLS), TLS only (plain port off), client certs required."""
    engine = require_engine(request.param)
    with start_tls_server(
        engine,
        cert_file=tls_files["cert"],
        key_file=tls_files["key"],
        ca_file=tls_files["ca"],
        require_client_cert=True,
    ) as server:
        yield server


def test_conformance_over_tls(
    tls_server: LocalServer, tls_files: dict[str, str], key_prefix: str
) -> None:
    options: dict[str, Any] = {
        "ssl_ca_certs": tls_files["ca"],
        "ssl_certfile": tls_files["client_cert"],
        "ssl_keyfile": tls_files["client_key"],
    }
    assert tls_server.url.startswith("rediss://")
    report = run_conformance(
        lambda: RedisSaver.from_conn_string(tls_server.url, prefix=key_prefix, **options)
    )
    failures = {n: r.failures for n, r in report.results.items() if not r.passed}
    assert not failures, failures


def test_tls_refuses_unknown_ca(tls_server: LocalServer, key_prefix: str) -> None:
    with RedisSaver.from_conn_string(
        tls_server.url, prefix=key_prefix, recovery_timeout=0
    ) as saver:
        with pytest.raises(redis.exceptions.ConnectionError, match="certificate verify failed"):
            saver.setup()
