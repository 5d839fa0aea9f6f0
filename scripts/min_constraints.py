#!/usr/bin/env python3
"""Pin every runtime dependency at the floor ``pyproject.toml`` declares for it.

``scripts/test.sh`` installs the package under these constraints into a second venv and
runs the test suite there, so each ``>=`` floor is a version the suite has passed with,
not a guess. Standard library only (it runs before anything is installed); Python 3.11+
for tomllib (``--verify`` asks an older interpreter in a subprocess).

Usage::

    python scripts/min_constraints.py [-o FILE]   # write ``name==floor`` lines
    python scripts/min_constraints.py --verify .venv-min/bin/python
                                                  # exit 1 unless that interpreter has
                                                  # exactly those versions installed

Every runtime dependency must have a floor (``>=``, ``~=`` or ``==``); one without is
an error, since "any version" cannot be tested. Extras (``redis[hiredis]``) pin the
package itself; environment markers are kept on the line.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent

_REQ = re.compile(
    r"""^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*
        (?:\[[^\]]*\])?\s*
        (?P<spec>[^;]*?)\s*
        (?:;\s*(?P<marker>.+?))?\s*$""",
    re.X,
)
_FLOOR = re.compile(r"(?:>=|~=|===?)\s*([0-9][A-Za-z0-9.+!-]*)")


def normalize(name: str) -> str:
    """PEP 503 name normalization (``typing_extensions`` == ``typing-extensions``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def floors(pyproject: Path = ROOT / "pyproject.toml") -> list[tuple[str, str, str | None]]:
    """``(name, floor, marker)`` for each entry of ``[project].dependencies``."""
    deps = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    out: list[tuple[str, str, str | None]] = []
    for dep in deps:
        match = _REQ.match(dep)
        if match is None:
            raise ValueError(f"cannot parse dependency {dep!r}")
        found = _FLOOR.findall(match["spec"])
        if len(found) != 1:
            raise ValueError(f"dependency {dep!r} needs exactly one floor (>=, ~= or ==)")
        out.append((match["name"], found[0], match["marker"]))
    return out


def constraints(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The constraints file text: one ``name==floor`` line per runtime dependency."""
    lines = [
        f"{name}=={floor}" + (f"; {marker}" if marker else "")
        for name, floor, marker in floors(pyproject)
    ]
    return "\n".join(lines) + "\n"


def _release(version: str) -> tuple[int, ...]:
    parts = [int(p) for p in re.findall(r"\d+", version.split("+")[0])[:3]]
    return tuple(parts + [0] * (3 - len(parts)))


_LIST = (
    "import json, importlib.metadata as m; "
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
)


def installed_versions(python: str) -> dict[str, str]:
    """``{normalized name: version}`` of what ``python``'s environment has installed.

    Asked in a subprocess: that interpreter may be older than this script's (no tomllib).
    """
    out = subprocess.run([python, "-c", _LIST], check=True, capture_output=True, text=True)
    return {normalize(k): v for k, v in json.loads(out.stdout).items()}


def verify(python: str) -> list[str]:
    """Dependencies whose installed version is not their floor (marker-gated ones skipped)."""
    have = installed_versions(python)
    wrong = []
    for name, floor, marker in floors():
        if marker:
            continue
        installed = have.get(normalize(name))
        if installed is None:
            wrong.append(f"{name}: not installed (floor {floor})")
            continue
        if _release(installed) != _release(floor):
            wrong.append(f"{name}: {installed} installed, floor is {floor}")
    return wrong


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="min_constraints.py", description=__doc__.split("\n")[0])
    parser.add_argument("-o", "--output", help="write here instead of standard output")
    parser.add_argument(
        "--verify", metavar="PYTHON", help="check what this interpreter has installed instead"
    )
    args = parser.parse_args(argv)
    if args.verify:
        wrong = verify(args.verify)
        for line in wrong:
            print(f"min_constraints: {line}", file=sys.stderr)
        if not wrong:
            pins = ", ".join(f"{n}=={f}" for n, f, _ in floors())
            print(f"min_constraints: every runtime dependency is at its floor ({pins})")
        return 1 if wrong else 0
    text = constraints()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
