"""A cached ``@task`` computed in one process is a cache hit in another."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.cache_graph import run

ROOT = Path(__file__).resolve().parent.parent


def test_task_cached_by_one_process_hits_in_another(
    redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    log = tmp_path / "calls.txt"
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "from tests.cache_graph import main; main()",
            redis_url,
            key_prefix,
            str(log),
            "3",
            "4",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "[9, 16]"
    assert log.read_text().split() == ["3", "4"]
    # This process: 3 and 4 come from the other process's entries; only 5 runs here.
    assert run(redis_url, key_prefix, [3, 4, 5], log) == [9, 16, 25]
    assert log.read_text().split() == ["3", "4", "5"]
