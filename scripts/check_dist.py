#!/usr/bin/env python3
"""Check what ``python -m build`` made: the files users would install from the index.

Usage: ``python scripts/check_dist.py dist/`` (one wheel and one sdist in the folder).

* The wheel holds only the library: ``langgraph_redis/`` and its ``.dist-info``; no test
  suite, benchmarks or test-server helpers (``_servers.py`` starts throwaway servers for
  the tests and the benchmarks; users never need it), and it is typed (``py.typed``).
* The MIT ``LICENSE`` is inside both the wheel and the sdist, and the wheel's metadata
  names it (``License-Expression``, ``License-File``).

Standard library only. Exits 1 with one line per problem.
"""

from __future__ import annotations

import re
import sys
import tarfile
import zipfile
from email.parser import HeaderParser
from pathlib import Path

PACKAGE = "langgraph_redis"
TEST_INFRA = re.compile(
    r"(^|/)(tests?|testing|benchmarks?)(/|$)"  # whole test or benchmark trees
    r"|(^|/)(conftest|test_[^/]*|[^/]*_test|_servers)\.py$"  # test modules, server helpers
)


def wheel_problems(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta_name = next((n for n in names if n.endswith(".dist-info/METADATA")), None)
        metadata = zf.read(meta_name).decode() if meta_name else ""
    problems = []
    for name in names:
        top = name.split("/", 1)[0]
        if top != PACKAGE and not top.endswith(".dist-info"):
            problems.append(f"{wheel.name}: {name} is outside the {PACKAGE} package")
        elif TEST_INFRA.search(name):
            problems.append(f"{wheel.name}: {name} is test infrastructure, not library")
    if f"{PACKAGE}/py.typed" not in names:
        problems.append(f"{wheel.name}: {PACKAGE}/py.typed is missing (Typing :: Typed)")
    if not any(re.search(r"\.dist-info/licenses/LICENSE$", n) for n in names):
        problems.append(f"{wheel.name}: no .dist-info/licenses/LICENSE")
    headers = HeaderParser().parsestr(metadata)
    if headers.get("License-Expression") != "MIT":
        problems.append(f"{wheel.name}: License-Expression is {headers.get('License-Expression')}")
    if "LICENSE" not in (headers.get_all("License-File") or []):
        problems.append(f"{wheel.name}: METADATA has no License-File: LICENSE")
    return problems


def sdist_problems(sdist: Path) -> list[str]:
    with tarfile.open(sdist) as tf:
        names = tf.getnames()
    root = names[0].split("/", 1)[0]
    if f"{root}/LICENSE" not in names:
        return [f"{sdist.name}: {root}/LICENSE is missing"]
    return []


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(argv[0])
    wheels, sdists = sorted(folder.glob("*.whl")), sorted(folder.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        print(f"check_dist: expected one wheel and one sdist in {folder}", file=sys.stderr)
        return 1
    problems = wheel_problems(wheels[0]) + sdist_problems(sdists[0])
    for problem in problems:
        print(f"check_dist: {problem}", file=sys.stderr)
    if not problems:
        print(f"check_dist: {wheels[0].name} and {sdists[0].name} ok")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
