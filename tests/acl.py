"""Least-privilege ACL users for the security tests (the lines in ``docs/security.md``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import redis

SECURITY_DOC = Path(__file__).resolve().parent.parent / "docs" / "security.md"


def documented_commands(user: str) -> str:
    """The commands the ``ACL SETUSER <user>`` line of ``docs/security.md`` grants: the
    tests grant exactly what the docs tell operators to, so the two cannot drift."""
    for line in SECURITY_DOC.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words[:3] == ["ACL", "SETUSER", user]:
            return " ".join(w for w in words if w.startswith("+"))
    raise LookupError(f"no 'ACL SETUSER {user}' line in {SECURITY_DOC}")


def acl_line(user: str, password: str, prefix: str, commands: str) -> list[str]:
    """``ACL SETUSER`` arguments: keys under ``prefix:`` only, only ``commands``."""
    return [
        user,
        "reset",
        "on",
        f">{password}",
        f"~{prefix}:*",
        "resetchannels",
        "-@all",
        *commands.split(),
    ]


class Login(NamedTuple):
    """How a test connects as an ACL user."""

    url: str  # the server's URL with the user's credentials
    password: str  # (a test checks that no log line shows it)


@contextmanager
def acl_user(
    redis_url: str, prefix: str, commands: str, name: str = "lgr"
) -> Iterator[tuple[Any, Login]]:
    """A user allowed only ``commands`` on ``prefix:*``, removed afterwards; yields the
    admin connection (for more cleanup) and the user's login."""
    if redis_url.startswith("rediss") or "@" in redis_url:
        pytest.skip("needs an admin connection to create ACL users")
    user, password = f"{name}_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with redis.Redis.from_url(redis_url) as admin:
        admin.execute_command("ACL", "SETUSER", *acl_line(user, password, prefix, commands))
        try:
            yield admin, Login(as_user(redis_url, user, password), password)
        finally:
            admin.execute_command("ACL", "DELUSER", user)


def as_user(url: str, user: str, password: str) -> str:
    """``url`` with the user's credentials."""
    return url.replace("redis://", f"redis://{user}:{password}@", 1)
