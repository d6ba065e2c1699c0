"""The shape of the code (docs/architecture.md): no import circle among ``voxwidget`` modules at run
time, no module over 500 lines, and no module reaching another through a package's lazy ``__init__``.

The import graph has an edge for every import a module executes, at module level or inside a
function (so a "lazy" import inside a function still counts), except those under ``if
TYPE_CHECKING:`` and those inside a package ``__init__``'s PEP 562 ``__getattr__`` (the public
names a user reaches by attribute; rule 3 keeps internal code from going through it). Importing a
module also imports every package above it, so each module has an edge to its parents'
``__init__``: a package ``__init__`` that eagerly imports its own modules is a circle too.

Each checker is run on a small synthetic tree first, so a test cannot pass because its checker
finds nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 500


# -- the checkers ------------------------------------------------------------------------------------
def modules(package_dir: Path) -> dict[str, Path]:
    """Every module of the package rooted at ``package_dir``: dotted name -> file."""
    top = package_dir.name
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = [top, *path.relative_to(package_dir).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.Module, is_init: bool) -> list[ast.Import | ast.ImportFrom]:
    """Import statements that run at run time (any depth), skipping TYPE_CHECKING blocks and an
    ``__init__``'s module-level ``__getattr__``."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for sub in child.orelse:
                    visit_stmt(sub, top)
                continue
            if top and is_init and isinstance(child, ast.FunctionDef) and child.name == "__getattr__":
                continue
            visit_stmt(child, top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    def visit_stmt(node: ast.AST, top: bool) -> None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        visit(node, top)

    visit(tree, True)
    return found


def import_graph(package_dir: Path) -> tuple[dict[str, set[str]], list[str]]:
    """``(edges, via_init)``: module -> the package modules it imports (including its parents), and
    the imports that take a name other than a submodule from a package ``__init__``."""
    mods = modules(package_dir)
    top = package_dir.name
    edges: dict[str, set[str]] = {m: set() for m in mods}
    via_init: list[str] = []
    for name, path in mods.items():
        is_init = path.name == "__init__.py"
        package = name if is_init else name.rpartition(".")[0]
        parts = name.split(".")
        for i in range(1, len(parts)):  # importing a.b.c imports a and a.b first
            edges[name].add(".".join(parts[:i]))
        tree = ast.parse(path.read_text(), str(path))
        for node in _import_nodes(tree, is_init):
            if isinstance(node, ast.Import):
                targets = [(a.name, None) for a in node.names]
            else:
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                targets = [(mod, a.name) for a in node.names]
            for mod, attr in targets:
                if mod != top and not mod.startswith(top + "."):
                    continue
                sub = f"{mod}.{attr}" if attr else None
                if sub in mods:
                    edges[name].add(sub)
                    continue
                if mod in mods:
                    edges[name].add(mod)
                    if mods[mod].name == "__init__.py" and mod != name:
                        what = attr or mod
                        via_init.append(f"{name} imports {what!r} from package {mod} (line {node.lineno})")
    return edges, via_init


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(edges.get(m, ())):
            if n == m:
                continue
            if state.get(n) == 1:
                return [*stack[stack.index(n) :], n]
            if n not in state:
                found = dfs(n)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(edges):
        if m not in state:
            found = dfs(m)
            if found:
                return found
    return None


def long_files(root: Path, pattern: str, limit: int = MAX_LINES) -> list[str]:
    """Files under ``root`` matching ``pattern`` with more than ``limit`` lines."""
    out = []
    for path in sorted(root.rglob(pattern)):
        if "node_modules" in path.parts:
            continue
        n = len(path.read_text().splitlines())
        if n > limit:
            rel = path.relative_to(ROOT if path.is_relative_to(ROOT) else root.parent)
            out.append(f"{rel}: {n} lines (limit {limit})")
    return out


# -- the checkers catch what they are meant to --------------------------------------------------------
def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return tmp_path / "pkg"


def test_cycle_checker_finds_a_lazy_circle(tmp_path):
    pkg = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from . import b\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/b.py": "",
            "pkg/b.py": "def f():\n    from .sub.c import x\n",
            "pkg/sub/c.py": "from ..a import y\n",
        },
    )
    cycle = find_cycle(import_graph(pkg)[0])
    assert cycle is not None and {"pkg.a", "pkg.b", "pkg.sub.c"} <= set(cycle)


def test_cycle_checker_skips_type_checking_and_sees_eager_init(tmp_path):
    pkg = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "def __getattr__(name):\n    from .a import A\n    return A\n",
            "pkg/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import B\n",
            "pkg/b.py": "from .a import A\n",
        },
    )
    edges, via = import_graph(pkg)
    assert find_cycle(edges) is None and via == []
    (pkg / "__init__.py").write_text("from .a import A\n")  # eager: pkg -> pkg.a -> pkg (parent)
    assert find_cycle(import_graph(pkg)[0]) is not None
    (pkg / "__init__.py").write_text("")
    (pkg / "b.py").write_text("from . import A\n")  # a name taken from the package __init__
    assert import_graph(pkg)[1] == ["pkg.b imports 'A' from package pkg (line 1)"]


def test_size_checker_counts_lines(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "ok.js").write_text("x\n" * MAX_LINES)
    (tmp_path / "src" / "long.js").write_text("x\n" * (MAX_LINES + 1))
    assert long_files(tmp_path / "src", "*.js") == [f"src/long.js: {MAX_LINES + 1} lines (limit 500)"]


# -- the code base -------------------------------------------------------------------------------------
def test_no_import_circle():
    edges, _ = import_graph(ROOT / "voxwidget")
    assert len(edges) > 10
    cycle = find_cycle(edges)
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_no_import_through_a_package_init():
    _, via = import_graph(ROOT / "voxwidget")
    assert via == [], "import the defining module instead:\n" + "\n".join(via)


@pytest.mark.parametrize(("folder", "pattern"), [("voxwidget", "*.py"), ("js/src", "*.js")])
def test_no_module_over_500_lines(folder, pattern):
    root = ROOT / folder
    assert any(root.rglob(pattern))
    assert long_files(root, pattern) == []
