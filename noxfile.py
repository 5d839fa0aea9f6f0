"""The one gate: every check the project runs, listed once.

``nox`` runs every default session: the checks (tag ``checks``: lint, typecheck,
sync_check, docs) and then the tests. ``scripts/test.sh`` (the README's test command,
which CI's ``.ci/run`` calls) runs ``nox``; pre-commit runs ``nox -t checks``. Sessions
reuse the active environment (``default_venv_backend = "none"``), so install the extras
first (``bash scripts/setup.sh`` does). ``bench`` only runs when named:
``nox -s bench -- --quick``.
"""

from __future__ import annotations

import re
from pathlib import Path

import nox

nox.options.default_venv_backend = "none"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).resolve().parent
# Every hand-written Python path (``_sync`` trees are generated and excluded in pyproject).
PATHS = ("src", "tests", "scripts", "benchmarks", "noxfile.py")


def _existing(paths: tuple[str, ...]) -> list[str]:
    return [p for p in paths if (ROOT / p).exists()]


@nox.session(tags=["checks"])
def lint(session: nox.Session) -> None:
    """Ruff lint and format check (``_sync`` is generated and excluded in pyproject)."""
    paths = _existing(PATHS)
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)


@nox.session(tags=["checks"])
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package (generated ``_sync`` included), tests, benchmarks, scripts."""
    session.run("mypy", "--strict", *_existing(PATHS))


@nox.session(tags=["checks"])
def sync_check(session: nox.Session) -> None:
    """Fail if ``_sync`` differs from what ``scripts/async_to_sync.py`` generates."""
    session.run("python", "scripts/async_to_sync.py", "--check")


@nox.session
def tests(session: nox.Session) -> None:
    """Run pytest; extra arguments pass through: ``nox -s tests -- -k saver``."""
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Run the benchmarks CLI: ``nox -s bench -- --quick``."""
    session.run("python", "-m", "benchmarks", *session.posargs)


# Inline ``[text](target)`` and reference-style ``[label]: target`` links.
_LINK_RE = re.compile(
    r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|^\s*\[[^\]]+\]:\s*(\S+)", re.M
)


def missing_doc_files(index: Path) -> list[str]:
    """Local link targets in ``index`` that do not exist (URLs and anchors are skipped)."""
    missing = []
    for match in _LINK_RE.finditer(index.read_text(encoding="utf-8")):
        target = match.group(1) or match.group(2)
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("#"):
            continue
        path = target.split("#", 1)[0]
        if path and not (index.parent / path).exists():
            missing.append(target)
    return missing


@nox.session(tags=["checks"])
def docs(session: nox.Session) -> None:
    """Check that every file linked from ``docs/index.md`` exists."""
    index = ROOT / "docs" / "index.md"
    if not index.is_file():
        session.error("docs/index.md is missing")
    missing = missing_doc_files(index)
    if missing:
        session.error("docs/index.md links to missing files: " + ", ".join(missing))
    session.log("docs/index.md: every linked file exists")
