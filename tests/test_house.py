"""The shape of the code: small modules, short functions, no import cycles, and the library
never reading the process environment (it is handed a mapping)."""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import ROOT

PACKAGES = ("ledger", "cli")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def test_modules_and_functions_are_small() -> None:
    too_long = []
    for name, path in modules().items():
        text = path.read_text()
        if text.count("\n") > MAX_MODULE_LINES:
            too_long.append(f"{name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}.{node.name}: {length} lines")
    assert too_long == []


def _imports(name: str, path: Path) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_import_cycles() -> None:
    mods = modules()
    graph = {name: {i for i in _imports(name, path) if i in mods and i != name}
             for name, path in mods.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_the_library_never_reads_the_process_environment() -> None:
    offenders = [name for name, path in modules().items()
                 if name.startswith("ledger") and ("os.environ" in path.read_text()
                                                   or "getenv" in path.read_text())]
    assert offenders == []


def test_the_library_has_no_cli_code() -> None:
    offenders = [name for name, path in modules().items() if name.startswith("ledger")
                 and any(i.startswith(("typer", "click", "cli")) for i in _imports(name, path))]
    assert offenders == []


def test_only_store_and_transport_touch_git() -> None:
    offenders = [name for name, path in modules().items() if name.startswith("ledger")
                 and name != "ledger.store" and "pygit2" in _imports(name, path)]
    git_runners = [name for name, path in modules().items() if name.startswith("ledger")
                   and name != "ledger.transport" and "subprocess" in _imports(name, path)]
    # deploy runs the deploy steps and signing runs ssh-keygen for people's keys, neither runs git
    assert git_runners == ["ledger.actions.deploy", "ledger.signing"]
    assert offenders == []
