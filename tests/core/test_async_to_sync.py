"""Tests for ``scripts/async_to_sync.py``: conversion rules and ``--check`` (no server).

The script is not a package module, so it is loaded from its path. Tree tests run on a
copy of the async sources and generated outputs under ``tmp_path``, via ``--root``.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "async_to_sync.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("async_to_sync", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while building
    spec.loader.exec_module(module)
    return module


a2s = _load()

SOURCE = textwrap.dedent(
    '''\
    """Saver over redis.asyncio; see AsyncRedisSaver.alist."""

    import asyncio  # sync: skip
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    import pytest

    from langgraph_redis._acompat import ALock, AsyncRedis, asleep
    from langgraph_redis._async._run import AnyAsyncClient, run

    pytestmark = [pytest.mark.cluster]
    MESSAGE = "async classes take redis.asyncio clients (see tests/_async/x.py)"


    class AsyncRedisSaver:
        async def __aenter__(self) -> AsyncRedisSaver:
            return self

        async def alist(self, client: AnyAsyncClient) -> AsyncIterator[int]:
            async with ALock():
                await asleep(0)
            async for item in self.aget_tuple():
                yield item
            x = [i async for i in self.alist_namespaces()]
            await asyncio.sleep(0)  # sync: pass
            my_aput = alistx = 1

        @asynccontextmanager
        async def gen(self) -> AsyncIterator[dict[str, int]]:
            yield {}


    async def test_it(asaver: AsyncRedisSaver, aclient: AsyncRedis) -> None:
        await asaver.aclose()
        assert [x async for x in asaver.alist(aclient)]
    '''
)

EXPECTED = textwrap.dedent(
    '''\
    # WARNING: generated from src/langgraph_redis/_async/sample.py by scripts/async_to_sync.py.
    # DO NOT EDIT: change the async source and regenerate.
    """Saver over redis.asyncio; see RedisSaver.list."""

    from collections.abc import Iterator
    from contextlib import contextmanager

    import pytest

    from langgraph_redis._acompat import Lock, Redis, sleep
    from langgraph_redis._sync._run import AnySyncClient, run

    pytestmark = [pytest.mark.cluster]
    MESSAGE = "async classes take redis.asyncio clients (see tests/_async/x.py)"


    class RedisSaver:
        def __enter__(self) -> RedisSaver:
            return self

        def list(self, client: AnySyncClient) -> Iterator[int]:
            with Lock():
                sleep(0)
            for item in self.get_tuple():
                yield item
            x = [i for i in self.list_namespaces()]
            pass
            my_aput = alistx = 1

        @contextmanager
        def gen(self) -> Iterator[dict[str, int]]:
            yield {}


    def test_it(saver: RedisSaver, client: Redis) -> None:
        saver.close()
        assert [x for x in saver.list(client)]
    '''
)


def test_convert_sample() -> None:
    used: Counter[str] = Counter()
    assert a2s.convert(SOURCE, "tests/_async/sample.py", used) == EXPECTED.replace(
        "src/langgraph_redis/_async/sample.py", "tests/_async/sample.py"
    )
    assert used["alist"] == 3  # docstring, def, call; not alist_namespaces nor alistx
    assert used["alist_namespaces"] == 1


def test_names_are_whole_identifiers() -> None:
    used: Counter[str] = Counter()
    line = "aput_writes(aput, x.aput(), _aput, aputs, aput2, self.aget)"
    assert a2s.convert_line(line, used) == "put_writes(put, x.put(), _aput, aputs, aput2, self.get)"


def test_sync_replacement_keeps_indent_and_is_verbatim() -> None:
    used: Counter[str] = Counter()
    line = "        await x.aclose()  # sync: x.aclose()  # really"
    assert a2s.convert_line(line, used) == "        x.aclose()  # really"
    assert a2s.convert_line("    # sync: import time", used) == "    import time"
    assert a2s.convert_line("    x = 1  # sync: skip", used) is None
    assert not used


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("import asyncio\nasyncio.run(f())\n", "'asyncio' left in sync code"),
        ("from x import AsyncMock\n", "'AsyncMock' left in sync code"),
        ("x = 1  # sync:\n", "empty '# sync:'"),
        ("x = (  # sync: skip\n    1)\n", "does not parse"),
    ],
)
def test_unconvertible_source_is_an_error(source: str, message: str) -> None:
    with pytest.raises(a2s.ConversionError, match=message):
        a2s.convert(source, "tests/_async/bad.py")


def test_sync_comments_are_refused_in_src() -> None:
    """The package's async code renames only; ``# sync:`` is for tests."""
    with pytest.raises(a2s.ConversionError, match="for tests only"):
        a2s.convert("x = 1  # sync: skip\n", "src/langgraph_redis/_async/bad.py", directives=False)
    assert all(directives is ("tests/" in src) for src, _out, directives in a2s.TREES)


def test_module_paths_are_renamed_on_import_lines_only() -> None:
    used: Counter[str] = Counter()
    assert a2s.convert_line("from redis.asyncio import Redis", used) == "from redis import Redis"
    assert a2s.convert_line("import langgraph_redis._async.saver", used) == (
        "import langgraph_redis._sync.saver"
    )
    prose = '    "async classes take redis.asyncio clients; see tests/_async/clock.py"'
    assert a2s.convert_line(prose, used) == prose


def test_check_passes_on_repo(capsys: pytest.CaptureFixture[str]) -> None:
    assert a2s.main(["--check"]) == 0, capsys.readouterr()
    assert "up to date" in capsys.readouterr().out


def test_runs_from_any_cwd(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture
def fake_root(tmp_path: Path) -> Path:
    """A copy of every async source tree and its generated twin."""
    for src_dir, out_dir, _directives in a2s.TREES:
        for rel in (src_dir, out_dir):
            if (ROOT / rel).is_dir():
                shutil.copytree(
                    ROOT / rel, tmp_path / rel, ignore=shutil.ignore_patterns("__pycache__")
                )
    return tmp_path


def _check(root: Path) -> int:
    return int(a2s.main(["--check", "--root", str(root)]))


def test_check_passes_on_copy(fake_root: Path) -> None:
    assert _check(fake_root) == 0


def test_check_fails_on_stale_output(fake_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = fake_root / "src/langgraph_redis/_async/_run.py"
    source.write_text(source.read_text() + "\n\nasync def extra() -> None:\n    pass\n")
    before = {p: p.read_text() for p in fake_root.rglob("*.py")}
    assert _check(fake_root) == 1
    out, err = capsys.readouterr()
    assert "+def extra() -> None:" in out  # unified diff of the regenerated file
    assert "_sync/_run.py: out of date" in err
    assert {p: p.read_text() for p in fake_root.rglob("*.py")} == before  # wrote nothing
    assert a2s.main(["--root", str(fake_root)]) == 0
    assert _check(fake_root) == 0


def test_check_fails_on_orphan(fake_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orphan = fake_root / "src/langgraph_redis/_sync/gone.py"
    orphan.write_text("x = 1\n")
    assert _check(fake_root) == 1
    assert "_sync/gone.py: generated file without a source" in capsys.readouterr().err
    assert orphan.exists()
    assert a2s.main(["--root", str(fake_root)]) == 0
    assert not orphan.exists()
    assert _check(fake_root) == 0


def test_check_fails_on_missing_output(fake_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = fake_root / "tests/_async/test_new.py"
    new.parent.mkdir(parents=True, exist_ok=True)
    new.write_text("async def test_x() -> None:\n    pass\n")
    assert _check(fake_root) == 1
    assert "tests/_sync/test_new.py: missing output" in capsys.readouterr().err
    assert a2s.main(["--root", str(fake_root)]) == 0
    generated = (fake_root / "tests/_sync/test_new.py").read_text()
    assert generated.endswith("def test_x() -> None:\n    pass\n")
    assert "generated from tests/_async/test_new.py" in generated
    assert _check(fake_root) == 0


def test_check_fails_on_unused_substitution(
    fake_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(a2s.NAMES, "anever_used", "never_used")
    assert _check(fake_root) == 1
    assert "NAMES['anever_used'] is used by no source" in capsys.readouterr().err
