"""A cached ``@task`` computed in one process is a cache hit in another."""

from __future__ import annotations

from pathlib import Path

from tests.cache_graph import run
from tests.subprocesses import run_python


def test_task_cached_by_one_process_hits_in_another(
    redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    log = tmp_path / "calls.txt"
    main = "from tests.cache_graph import main; main()"
    child = run_python("-c", main, redis_url, key_prefix, str(log), "3", "4", timeout=120)
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "[9, 16]"
    assert log.read_text().split() == ["3", "4"]
    # This process: 3 and 4 come from the other process's entries; only 5 runs here.
    assert run(redis_url, key_prefix, [3, 4, 5], log) == [9, 16, 25]
    assert log.read_text().split() == ["3", "4", "5"]
