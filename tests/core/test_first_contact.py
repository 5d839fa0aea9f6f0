"""What a failed first connection tells the user (``_core.probe.classify_first_contact``).

The error texts are redis-py's (``ConnectionError`` built from the ``OSError``, or its
``TimeoutError``); the real-server cases are in ``tests/_async/test_connections.py``.
"""

from __future__ import annotations

import pytest

from langgraph_redis._core.probe import classify_first_contact

ADDR = "db.example:6380"


def verdict(error: str, *, timed_out: bool = False, tls: bool = False) -> tuple[bool, str]:
    found = classify_first_contact(
        error, timed_out=timed_out, address=ADDR, tls=tls, connect_timeout=5.0
    )
    return found.retry, found.message


@pytest.mark.parametrize(
    ("error", "tls", "retry", "says"),
    [
        ("Error 111 connecting to db.example:6380. Connection refused.", False, True, "refused"),
        ("Error 111 connecting to db.example:6380. Connection refused.", True, True, "refused"),
        (
            "Error -2 connecting to db.example:6380. Name or service not known.",
            False,
            True,
            "cannot resolve",
        ),
        ("Connection closed by server.", False, True, "use a rediss:// URL"),
        (
            "Error while reading from db.example:6380 : (104, 'Connection reset by peer')",
            False,
            True,
            "use a rediss:// URL",
        ),
        (
            "Error 1 connecting to db.example:6380. [SSL: WRONG_VERSION_NUMBER] wrong version "
            "number (_ssl.c:1006).",
            True,
            False,
            "use a redis:// URL for a plain port",
        ),
        (
            "Error 1 connecting to db.example:6380. [SSL: CERTIFICATE_VERIFY_FAILED] certificate "
            "verify failed",
            True,
            False,
            "ssl_ca_certs",
        ),
        ("something else entirely", False, True, "cannot connect to"),
    ],
)
def test_failures_name_the_address_and_what_to_check(
    error: str, tls: bool, retry: bool, says: str
) -> None:
    got_retry, message = verdict(error, tls=tls)
    assert got_retry is retry
    assert ADDR in message and says in message


def test_a_timeout_is_final_and_names_tls_only_for_a_tls_client() -> None:
    retry, message = verdict("Timeout connecting to server", timed_out=True, tls=True)
    assert not retry and "no TLS handshake" in message and "redis:// URL" in message
    assert "5s (socket_connect_timeout)" in message
    retry, message = verdict("Timeout connecting to server", timed_out=True, tls=False)
    assert not retry and "no answer from" in message and "TLS" not in message
