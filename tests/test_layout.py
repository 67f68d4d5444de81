"""The package's import graph keeps the layout of DESIGN.md: no circles, and no domain
package (nor the call engine) reaching into pytest or the pytest adapter.

Imports are read from the source (every ``import``, also inside functions and under
``TYPE_CHECKING``), so a lazy import cannot hide a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG_DIR = Path(__file__).resolve().parent.parent / "pytest_llmbench"
ADAPTER = ("pytest_llmbench.plugin", "pytest_llmbench.cli")
PYTEST_WORLD = ("pytest", "_pytest", "xdist", "pluggy", "execnet", "pytest_benchmark")
DOMAIN = ("calls", "providers", "scoring", "suites", "targets", "serving", "results", "report",
          "sim", "agents", "server")
ROOT_MODULES = ("pytest_llmbench.config", "pytest_llmbench.errors", "pytest_llmbench.redaction")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PKG_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PKG_DIR.rglob("*.py")}


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports: the deepest module each import statement names."""
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            subs = [f"{source}.{alias.name}" for alias in node.names]
            modules = [s for s in subs if s in MODULES]
            found.update(modules)
            if len(modules) < len(subs):
                found.add(source)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _internal(name: str) -> set[str]:
    return {dep for dep in GRAPH[name] if dep in MODULES and dep != name}


def test_no_import_circles() -> None:
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(_internal(node)):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                cycles.append(" -> ".join(m.removeprefix("pytest_llmbench.") for m in cycle))
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for name in sorted(MODULES):
        if name not in state and name != "pytest_llmbench":
            visit(name)
    assert cycles == []


@pytest.mark.parametrize("name", sorted(
    m for m in MODULES if m.split(".")[1:2] and m.split(".")[1] in DOMAIN))
def test_domain_module_knows_nothing_of_pytest(name: str) -> None:
    bad = sorted(dep for dep in GRAPH[name]
                 if dep.split(".")[0] in PYTEST_WORLD or dep.startswith(ADAPTER))
    assert bad == [], f"{name} imports {bad}"


@pytest.mark.parametrize("name", ROOT_MODULES)
def test_shared_model_imports_nothing_upward(name: str) -> None:
    internal = _internal(name) - {"pytest_llmbench"}
    assert internal <= set(ROOT_MODULES), f"{name} imports {sorted(internal)}"


def test_root_holds_only_public_api_and_shared_model() -> None:
    top = sorted(p.name for p in PKG_DIR.glob("*.py"))
    assert top == ["__init__.py", "config.py", "errors.py", "redaction.py"]


def test_bedrock_provider_does_not_import_the_anthropic_sdk() -> None:
    """A ``bedrock:`` run pays for boto3 only: importing the anthropic SDK costs ~1.7 s of CPU."""
    import subprocess
    import sys

    code = ("import sys, pytest_llmbench.providers.bedrock_converse; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('anthropic', 'openai')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
