#!/usr/bin/env python3
"""Generate the sync API from the async sources, line for line.

Sources are ``src/langgraph_redis/_async/**.py`` and ``tests/_async/**.py``; each output
has the same relative path under the sibling ``_sync`` directory and is the source plus
a two-line header. The generator only renames (``async def`` -> ``def``, ``await x`` ->
``x``, and whole identifiers through ``NAMES`` below); async-only constructs belong in
``langgraph_redis._acompat`` as named pairs, so no logic is ever rewritten here and ruff
and mypy see both sides. Module paths (``_async``, ``redis.asyncio``) are renamed on
import lines only, so prose that names them keeps its meaning.

Escape hatch for tests only (a directive in ``src`` is an error), written in the async
source, for the rare line that renaming cannot convert:

* ``code  # sync: skip`` -- the line is dropped from the sync output.
* ``code  # sync: other code`` -- the line becomes ``other code`` in the sync output,
  keeping the line's indentation. The replacement is copied verbatim (no renaming).
  A line that is only ``# sync: other code`` therefore adds a sync-only line.

The sync output must parse and must not name ``async``, ``await``, ``asyncio``, ``anyio``
or any ``Async*`` identifier outside strings and comments; such a line is an error that
names the file and line, to be fixed in the async source (an ``_acompat`` pair or a
``NAMES`` entry).

Usage (from any directory)::

    python scripts/async_to_sync.py            # write every output, delete orphans
    python scripts/async_to_sync.py --check    # compare only; exit 1 with a diff

``--check`` regenerates in memory and fails on any difference, on an ``_sync`` ``.py``
file without a source, on a source without an output and on a ``NAMES`` entry no source
uses. It writes nothing and needs neither git nor a formatter.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import io
import re
import sys
import tokenize
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# Whole-identifier renames (matched with ``\b`` on both sides, in one pass, so a
# replacement is never renamed again). Applied to code, strings and comments alike:
# docstrings read right in the sync API too. Every entry must be used by some source.
NAMES: dict[str, str] = {
    # Python's async idioms.
    "AsyncIterator": "Iterator",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "aclose": "close",
    "asynccontextmanager": "contextmanager",
    # langgraph_redis._acompat pairs.
    "ALock": "Lock",
    "AsyncBlockingConnectionPool": "BlockingConnectionPool",
    "AsyncRedis": "Redis",
    "AsyncRedisCluster": "RedisCluster",
    "AsyncRetry": "Retry",
    "AsyncSentinel": "Sentinel",
    "aqueue_command": "queue_command",
    "afinish": "finish",
    "asleep": "sleep",
    "arelease_client": "release_client",
    # Public classes and aliases.
    "AnyAsyncClient": "AnySyncClient",
    "AsyncRedisCache": "RedisCache",
    "AsyncRedisSaver": "RedisSaver",
    "AsyncRedisStore": "RedisStore",
    "AsyncShallowRedisSaver": "ShallowRedisSaver",
    "AsyncCacheBridge": "SyncCacheBridge",
    "AsyncSaverBridge": "SyncSaverBridge",
    "AsyncStoreBridge": "SyncStoreBridge",
    "AsyncSweeper": "ThreadSweeper",
    "ainit_cluster": "init_cluster",
    # LangChain's Embeddings.
    "aembed_documents": "embed_documents",
    "aembed_query": "embed_query",
    # LangGraph method names (BaseCheckpointSaver, BaseStore) and our own.
    "abatch": "batch",
    "aclear": "clear",
    "acopy_thread": "copy_thread",
    "adelete": "delete",
    "adelete_for_runs": "delete_for_runs",
    "adelete_thread": "delete_thread",
    "aget": "get",
    "aget_tuple": "get_tuple",
    "alist": "list",
    "alist_namespaces": "list_namespaces",
    "aprune": "prune",
    "_aprobe": "_probe",
    "_awrite_prepared": "_write_prepared",
    "aput": "put",
    "aput_writes": "put_writes",
    "aset": "set",
    "asearch": "search",
    "asetup": "setup",
    "astart_ttl_sweeper": "start_ttl_sweeper",
    "astop_ttl_sweeper": "stop_ttl_sweeper",
    "asweep_ttl": "sweep_ttl",
    # Test fixtures (psycopg's aconn/conn).
    "acache": "cache",
    "aclient": "client",
    "asaver": "saver",
    "ashallow": "shallow",
    "astore": "store",
    # LangGraph graph methods used by the tests.
    "ainvoke": "invoke",
    "aget_state": "get_state",
    "aget_state_history": "get_state_history",
    "aupdate_state": "update_state",
    "aclear_cache": "clear_cache",
    # Test helpers with a sync twin.
    "arun_conformance": "run_conformance",
}

# Module paths, renamed on ``import``/``from`` lines only (never in prose).
MODULES: dict[str, str] = {
    "_async": "_sync",
    "redis.asyncio": "redis",
}

# (async source dir, sync output dir), relative to the repository root.
# The third field says whether ``# sync:`` directives are allowed (tests only).
TREES: tuple[tuple[str, str, bool], ...] = (
    ("src/langgraph_redis/_async", "src/langgraph_redis/_sync", False),
    ("tests/_async", "tests/_sync", True),
)

HEADER = (
    "# WARNING: generated from {source} by scripts/async_to_sync.py.\n"
    "# DO NOT EDIT: change the async source and regenerate.\n"
)

REPO_ROOT = Path(__file__).resolve().parent.parent

_NAME_RE = re.compile(
    r"\b(" + "|".join(re.escape(k) for k in sorted(NAMES, key=len, reverse=True)) + r")\b"
)
_ASYNC_KEYWORD_RE = re.compile(r"\basync\s+(def|with|for)\b")
_AWAIT_RE = re.compile(r"\bawait\s+")
_MODULE_RE = re.compile(
    r"\b(" + "|".join(re.escape(k) for k in sorted(MODULES, key=len, reverse=True)) + r")\b"
)
_IMPORT_RE = re.compile(r"^\s*(?:from|import)\s")
_DIRECTIVE_RE = re.compile(r"(?:^|\s)#\s*sync:(?P<rest>.*)$")
_FORBIDDEN_NAMES = frozenset({"async", "await", "asyncio", "anyio"})


class ConversionError(Exception):
    """A source line the generator cannot convert by renaming."""


@dataclass
class Result:
    """Everything one run found, whether it writes or only checks."""

    outputs: dict[Path, tuple[Path, str]] = field(default_factory=dict)  # out -> (src, text)
    orphans: list[Path] = field(default_factory=list)
    used: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


def convert_line(
    line: str, used: Counter[str], where: str = "<line>", *, directives: bool = True
) -> str | None:
    """Convert one source line (without its newline); None drops it."""
    directive = _DIRECTIVE_RE.search(line)
    if directive:
        if not directives:
            raise ConversionError(
                f"{where}: '# sync:' comments are for tests only; use an _acompat pair "
                "or a NAMES entry"
            )
        rest = directive.group("rest").strip()
        if not rest:
            raise ConversionError(f"{where}: empty '# sync:' comment")
        if rest == "skip":
            return None
        indent = line[: len(line) - len(line.lstrip())]
        return indent + rest
    line = _ASYNC_KEYWORD_RE.sub(r"\1", line)
    line = _AWAIT_RE.sub("", line)

    def rename(match: re.Match[str]) -> str:
        used[match.group(1)] += 1
        return NAMES[match.group(1)]

    if _IMPORT_RE.match(line):
        line = _MODULE_RE.sub(lambda m: MODULES[m.group(1)], line)
    return _NAME_RE.sub(rename, line)


def _check_output(text: str, where: str) -> list[str]:
    """Errors for sync output that does not parse or still names async-only things."""
    try:
        ast.parse(text, filename=where)
    except SyntaxError as exc:
        return [f"{where}:{exc.lineno}: generated sync code does not parse: {exc.msg}"]
    errors = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.NAME and (
            tok.string in _FORBIDDEN_NAMES or tok.string.startswith("Async")
        ):
            errors.append(
                f"{where}:{tok.start[0]}: '{tok.string}' left in sync code; use an "
                "_acompat pair or a NAMES entry in the async source"
            )
    return errors


def convert(
    text: str, source: str, used: Counter[str] | None = None, *, directives: bool = True
) -> str:
    """Return the sync module for async source ``text`` (``source``: repo-relative path).

    Raises:
        ConversionError: a line cannot be converted, or the output is not valid sync code.
    """
    used = Counter() if used is None else used
    lines: list[str] = []
    for number, line in enumerate(text.split("\n"), start=1):
        converted = convert_line(line, used, f"{source}:{number}", directives=directives)
        if converted is not None:
            lines.append(converted)
    out = HEADER.format(source=source) + "\n".join(lines)
    errors = _check_output(out, source.replace("_async", "_sync", 1) + " (generated)")
    if errors:
        raise ConversionError("\n".join(errors))
    return out


def _py_files(directory: Path) -> Iterator[Path]:
    if directory.is_dir():
        for path in sorted(directory.rglob("*.py")):
            if "__pycache__" not in path.parts:
                yield path


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def generate(root: Path) -> Result:
    """Convert every source under ``root`` in memory and find orphaned outputs."""
    result = Result()
    for src_dir, out_dir, directives in TREES:
        for src in _py_files(root / src_dir):
            out = root / out_dir / src.relative_to(root / src_dir)
            rel = src.relative_to(root).as_posix()
            try:
                result.outputs[out] = (
                    src,
                    convert(_read(src), rel, result.used, directives=directives),
                )
            except ConversionError as exc:
                result.errors.append(str(exc))
        for out in _py_files(root / out_dir):
            if (
                out not in result.outputs
                and not (root / src_dir / out.relative_to(root / out_dir)).exists()
            ):
                result.orphans.append(out)
    return result


def _unused(result: Result) -> list[str]:
    """``NAMES`` entries no source used."""
    return sorted(k for k in NAMES if not result.used[k])


def check(root: Path) -> int:
    """Compare every output with its regenerated text; print problems; 0 if all match."""
    result = generate(root)
    problems = list(result.errors)
    for out, (src, expected) in result.outputs.items():
        rel_out = out.relative_to(root).as_posix()
        actual = _read(out) if out.exists() else None
        if actual == expected:
            continue
        if actual is None:
            problems.append(f"{rel_out}: missing output for {src.relative_to(root).as_posix()}")
        else:
            problems.append(f"{rel_out}: out of date with {src.relative_to(root).as_posix()}")
        sys.stdout.writelines(
            difflib.unified_diff(
                [] if actual is None else actual.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                fromfile="/dev/null" if actual is None else rel_out,
                tofile=f"{rel_out} (regenerated)",
            )
        )
        sys.stdout.write("\n")
    for orphan in result.orphans:
        problems.append(f"{orphan.relative_to(root).as_posix()}: generated file without a source")
    for name in _unused(result):
        problems.append(f"NAMES[{name!r}] is used by no source: remove it")
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        print(
            f"async_to_sync --check: {len(problems)} problem(s); "
            "run 'python scripts/async_to_sync.py' to regenerate",
            file=sys.stderr,
        )
        return 1
    print(f"async_to_sync --check: {len(result.outputs)} generated files up to date")
    return 0


def write(root: Path) -> int:
    """Write every changed output and delete orphans; 1 if a source cannot be converted."""
    result = generate(root)
    if result.errors:
        for error in result.errors:
            print(f"error: {error}", file=sys.stderr)
        print("async_to_sync: nothing written", file=sys.stderr)
        return 1
    written = 0
    for out, (_src, text) in result.outputs.items():
        if out.exists() and _read(out) == text:
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8", newline="\n")
        written += 1
    for orphan in result.orphans:
        orphan.unlink()
    for name in _unused(result):
        print(f"warning: NAMES[{name!r}] is used by no source (--check fails on this)")
    print(
        f"async_to_sync: {len(result.outputs)} generated files, {written} written, "
        f"{len(result.orphans)} orphans deleted"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="compare generated files only; write nothing"
    )
    parser.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="repository root (default: this repo)"
    )
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    return check(root) if args.check else write(root)


if __name__ == "__main__":
    sys.exit(main())
