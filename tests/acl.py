"""Least-privilege ACL users for the security tests (the lines in ``docs/security.md``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis


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


@contextmanager
def acl_user(
    redis_url: str, prefix: str, commands: str, name: str = "lgr"
) -> Iterator[tuple[Any, str, str]]:
    """A user allowed only ``commands`` on ``prefix:*``, removed afterwards; yields the
    admin connection (for more cleanup), the user name and the password."""
    if redis_url.startswith("rediss") or "@" in redis_url:
        pytest.skip("needs an admin connection to create ACL users")
    user, password = f"{name}_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with redis.Redis.from_url(redis_url) as admin:
        admin.execute_command("ACL", "SETUSER", *acl_line(user, password, prefix, commands))
        try:
            yield admin, user, password
        finally:
            admin.execute_command("ACL", "DELUSER", user)


def as_user(url: str, user: str, password: str) -> str:
    """``url`` with the user's credentials."""
    return url.replace("redis://", f"redis://{user}:{password}@", 1)
