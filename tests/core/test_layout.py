"""The package's layout: the map in ``docs/design.md`` and the import layers.

The map is how a newcomer finds a behaviour, so it must name every file of
``src/langgraph_redis`` and nothing that is gone; the layers (``_core`` imports no redis and
no asyncio, nothing imports upward) are what keep ``_core`` testable without a server.
Both are read from the tree as text, so a moved file or a new import fails here first.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "langgraph_redis"
DESIGN = ROOT / "docs" / "design.md"

# Lower layers first; a module may import its own layer's package and lower layers only.
# Two names on one rank (``_async`` and ``_sync``) may not import each other.
LAYERS: dict[str, int] = {
    "_core": 0,
    "errors": 1,
    "_packing": 1,
    "_bridge": 1,
    "_deadline": 2,
    "_acompat": 3,
    "_async": 4,
    "_sync": 4,
    "_migrate": 5,
    "_inspector": 5,
    "__init__": 6,
    "demo": 7,
    "__main__": 8,
}


def tree_entries() -> set[str]:
    """Every folder (with a trailing slash) and file of the package, relative to it."""
    found: set[str] = set()
    for path in PACKAGE.rglob("*"):
        rel = path.relative_to(PACKAGE)
        if "__pycache__" in rel.parts or path.suffix == ".pyc":
            continue
        found.add(f"{rel.as_posix()}/" if path.is_dir() else rel.as_posix())
    return found


def map_entries() -> set[str]:
    """The paths the map names, rebuilt from its indentation (two spaces per level)."""
    text = DESIGN.read_text()
    block = re.search(r"## Map of `src/langgraph_redis/`.*?```\n(.*?)```", text, re.S)
    assert block, "docs/design.md has no map block"
    entries: set[str] = set()
    folders: list[str] = []
    for line in block.group(1).splitlines():
        if not line.strip():
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        name = line.split()[0]
        del folders[depth:]
        entries.add("".join(folders) + name)
        if name.endswith("/"):
            folders.append(name)
    return entries


def test_the_design_map_names_every_file_and_nothing_stale() -> None:
    # A generated twin folder is named once; its files mirror _async/.
    tree = {e for e in tree_entries() if not e.startswith("_sync/") or e == "_sync/"}
    named = map_entries()
    assert sorted(tree - named) == [], "files missing from the map in docs/design.md"
    assert sorted(named - tree) == [], "stale names in the map in docs/design.md"


def imports(path: Path) -> list[str]:
    """Absolute module names a file imports (relative imports are not used in src)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            names.append(node.module or "")
    return names


def layer_of(module: str) -> str:
    """``langgraph_redis._core.store.items`` -> ``_core``; the package itself -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_core_imports_no_redis_and_no_asyncio() -> None:
    for path in (PACKAGE / "_core").rglob("*.py"):
        for name in imports(path):
            top = name.split(".")[0]
            assert top not in ("redis", "asyncio"), f"{path.relative_to(PACKAGE)} imports {name}"
            if top == "langgraph_redis":
                assert layer_of(name) == "_core", f"{path.relative_to(PACKAGE)} imports {name}"


def test_nothing_imports_upward() -> None:
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        mine = rel.parts[0].removesuffix(".py")
        assert mine in LAYERS, f"{rel}: add its layer to LAYERS"
        for name in imports(path):
            if name.split(".")[0] != "langgraph_redis":
                continue
            theirs = layer_of(name)
            if theirs == mine:
                continue
            assert LAYERS[theirs] < LAYERS[mine], f"{rel} imports {name} (a layer above or beside)"
