"""Commands packed by hiredis in the asyncio connections we make.

redis-py's asyncio connection packs every command in Python: an ``isinstance`` chain and
a bytes join per argument, about 33 µs for a checkpoint put's ~40 arguments, a tenth of
the call's client time. Its sync connection already hands the whole command to
``hiredis.pack_command`` (4 µs); this gives the asyncio one the same packer, with the
same rules: a command name holding spaces is split into words, and anything hiredis
will not pack (a ``bool``, ``None``, another type) goes to redis-py's own packer, which
raises its ``DataError`` as before. Only the default encoding (UTF-8, strict) is packed
here, since hiredis encodes ``str`` that way; a client made with another encoding keeps
redis-py's packer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_hiredis_pack: Callable[[tuple[Any, ...]], bytes] | None
try:  # hiredis is a dependency (redis[hiredis]); a build without it keeps redis-py's packer
    from hiredis import pack_command as _hiredis_pack
except ImportError:  # pragma: no cover - the package depends on hiredis
    _hiredis_pack = None


class PackingMixin:
    """Mixed into a redis.asyncio connection class before the class it extends."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Decided once: a connection's encoder is set here and never replaced.
        encoder = self.encoder  # type: ignore[attr-defined]
        self._hiredis_packs = (
            _hiredis_pack is not None
            and encoder.encoding.lower().replace("-", "") == "utf8"
            and encoder.encoding_errors == "strict"
        )

    def pack_command(self, *args: Any) -> list[bytes]:
        if not self._hiredis_packs:
            return super().pack_command(*args)  # type: ignore[misc, no-any-return]
        name = args[0]
        if isinstance(name, str):
            words: tuple[Any, ...] = tuple(name.encode().split())
        elif isinstance(name, bytes) and b" " in name:
            words = tuple(name.split())
        else:
            words = (name,)
        try:
            return [_hiredis_pack((*words, *args[1:]))]  # type: ignore[misc]
        except TypeError:
            return super().pack_command(*args)  # type: ignore[misc, no-any-return]
