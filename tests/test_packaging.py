"""Packaging facts that drift silently: declared dependencies versus imports, floors, docs.

The floors themselves are proved by ``scripts/test.sh``, which runs the suite again with
every runtime dependency pinned at its floor (``scripts/min_constraints.py``).
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

if sys.version_info < (3, 11):  # the checks below do not depend on the Python version
    pytest.skip("reads pyproject.toml with tomllib (Python 3.11+)", allow_module_level=True)

import tomllib

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "langgraph_redis"
sys.path.insert(0, str(ROOT / "scripts"))
import min_constraints  # noqa: E402

# Optional extras the library imports only where that extra is needed:
# {file under src/langgraph_redis: extra}.
EXTRA_IMPORTS = {"demo/embedded.py": "embedded", "_migrate.py": "migrate"}


def _declared(extra: str | None = None) -> dict[str, str]:
    """``{normalized distribution name: requirement}`` of ``[project].dependencies``, or of
    one optional extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return {min_constraints.normalize(re.split(r"[\[<>=~!;\s]", d, maxsplit=1)[0]): d for d in deps}


def _imported_modules(extra: str | None = None) -> set[str]:
    """Third-party modules the library's source imports (static imports): those of the
    core library, or those of the files that need ``extra``."""
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        if EXTRA_IMPORTS.get(path.relative_to(SRC).as_posix()) != extra:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in {"langgraph_redis"}:
                    found.add(name)
    return found


def _owning_distribution(module: str) -> str:
    """The installed distribution whose files include ``module``."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, module
    origin = Path(spec.origin).resolve()
    top = module.split(".")[0]
    for dist_name in metadata.packages_distributions().get(top, []):
        dist = metadata.distribution(dist_name)
        for file in dist.files or []:
            if Path(str(dist.locate_file(file))).resolve() == origin:
                return min_constraints.normalize(str(dist.metadata["Name"]))
    raise AssertionError(f"no installed distribution owns {module} ({origin})")


def test_every_import_is_declared_and_every_dependency_imported() -> None:
    declared = _declared()
    owners = {module: _owning_distribution(module) for module in _imported_modules()}
    undeclared = {m: d for m, d in owners.items() if d not in declared}
    assert not undeclared, f"imported but not in [project].dependencies: {undeclared}"
    unused = set(declared) - set(owners.values())
    assert not unused, f"declared but never imported by the library: {unused}"


@pytest.mark.parametrize("extra", sorted(set(EXTRA_IMPORTS.values())))
def test_extras_cover_their_imports(extra: str) -> None:
    declared = {**_declared(), **_declared(extra)}
    owners = {module: _owning_distribution(module) for module in _imported_modules(extra)}
    assert owners, f"no file imports anything for the {extra!r} extra"
    undeclared = {m: d for m, d in owners.items() if d not in declared}
    assert not undeclared, f"imported but not in the {extra!r} extra: {undeclared}"


def test_every_dependency_has_one_floor(tmp_path: Path) -> None:
    pins = min_constraints.constraints()
    assert len(pins.splitlines()) == len(_declared())
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+==[0-9][^\s;]*", line) for line in pins.splitlines())
    bad = tmp_path / "pyproject.toml"
    bad.write_text('[project]\ndependencies = ["redis", "numpy>=1.26"]\n')
    with pytest.raises(ValueError, match="'redis' needs exactly one floor"):
        min_constraints.floors(bad)


# `pip install langgraph-redis` (the index) as opposed to `pip install .` or a wheel path.
_INDEX_INSTALL = re.compile(
    r"pip install\s+(?:-\S+\s+)*['\"]?langgraph-redis(?:\[[^\]]*\])?['\"]?(\s|$)"
)


@pytest.mark.parametrize(
    "doc",
    [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))],
    ids=lambda p: p.name,
)
def test_docs_do_not_install_from_the_index_before_it_is_published(doc: Path) -> None:
    """The package is not on PyPI yet: an index install line must say "once published"."""
    lines = doc.read_text().splitlines()
    wrong = [
        f"{doc.name}:{n}: {line.strip()}"
        for n, line in enumerate(lines, 1)
        if _INDEX_INSTALL.search(line) and "once published" not in line.lower()
    ]
    assert not wrong, wrong
