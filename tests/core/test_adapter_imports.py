"""The CLI, the MCP server and the browser pages are adapters over `memorygraph.ops`:
no module of theirs reaches below it to the exchange format, the migration manager,
the store or the backends."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import memorygraph

PACKAGE = Path(memorygraph.__file__).parent
ADAPTERS = ("cli", "mcp_server", "ui")
BELOW_OPS = (
    "memorygraph.exchange",
    # The migration manager and the modules it is written in (its models are shared).
    "memorygraph.migration.manager",
    "memorygraph.migration.run",
    "memorygraph.migration.phases",
    "memorygraph.migration.failure",
    "memorygraph.migration.resume",
    "memorygraph.store",
    "memorygraph.backends",
)


def imported_modules(source: str) -> list[str]:
    """Every module `source` imports, by its absolute name (including
    `from memorygraph import store`, which names `memorygraph.store`)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                raise AssertionError(f"relative import of {node.module!r}: write it absolute")
            module = node.module or ""
            names.append(module)
            names.extend(f"{module}.{alias.name}" for alias in node.names)
    return names


def below_ops(module: str) -> bool:
    return any(module == banned or module.startswith(banned + ".") for banned in BELOW_OPS)


def adapter_modules() -> list[Path]:
    return sorted(p for group in ADAPTERS for p in (PACKAGE / group).rglob("*.py"))


def test_the_adapters_are_found() -> None:
    names = {p.relative_to(PACKAGE).as_posix() for p in adapter_modules()}
    assert {"cli/exchange.py", "cli/migrate.py", "cli/demo.py"} <= names
    assert {"mcp_server/migration_tools.py", "mcp_server/app.py"} <= names


@pytest.mark.parametrize(
    "module", adapter_modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix()
)
def test_an_adapter_imports_nothing_below_ops(module: Path) -> None:
    found = sorted({m for m in imported_modules(module.read_text()) if below_ops(m)})
    assert not found, f"{module.relative_to(PACKAGE)} imports {found}; call memorygraph.ops"


@pytest.mark.parametrize(
    "source",
    [
        "from memorygraph.exchange.importers import FORMATS",
        "import memorygraph.migration.manager",
        "from memorygraph.migration.phases import plan",
        "from memorygraph import store",
        "from memorygraph.backends import registry",
        "def f():\n    from memorygraph.store import MemoryStore",
        "if TYPE_CHECKING:\n    from memorygraph.backends.base import Backend",
    ],
)
def test_each_way_of_importing_below_ops_is_seen(source: str) -> None:
    assert any(below_ops(m) for m in imported_modules(source))


@pytest.mark.parametrize(
    "source",
    [
        "from memorygraph.ops import exchange",
        "from memorygraph.ops.memories import MemoryStore",
        "from memorygraph.migration.models import MigrationResult",
        "import memorygraph.storefront",
    ],
)
def test_imports_through_ops_pass(source: str) -> None:
    assert not any(below_ops(m) for m in imported_modules(source))
