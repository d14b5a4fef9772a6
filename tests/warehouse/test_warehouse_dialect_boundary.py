"""Engines are strategies: only the dialect modules know which engine they talk to."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import csvhub

PACKAGE = Path(csvhub.__file__).parent
DIALECTS = PACKAGE / "warehouse" / "dialects"
# Spellings of an engine check: a helper named after one, the dialect's name, or a comparison
# with an engine's name.
ENGINE_CHECK = re.compile(
    r"is_postgres|is_sqlite|dialect\s*==|dialect\.name"
    r"|==\s*\"(sqlite|postgresql|mysql|mariadb|duckdb)\""
)
ENGINE_NAMES = {"sqlite", "postgresql", "mysql", "mariadb", "duckdb"}


def _outside_dialects() -> list[Path]:
    return [path for path in PACKAGE.rglob("*.py") if DIALECTS not in path.parents]


def test_no_engine_check_outside_the_dialect_modules() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in _outside_dialects()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if ENGINE_CHECK.search(line)
    ]
    assert found == []


def test_no_comparison_with_an_engine_name_outside_the_dialect_modules() -> None:
    # The AST catches what a line grep misses: `name in ("sqlite", ...)`, 'postgresql' == x.
    found = []
    for path in _outside_dialects():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and _names_an_engine(node):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == []


def test_the_warehouse_imports_no_engine_driver_outside_the_dialect_modules() -> None:
    drivers = {"sqlite3", "psycopg", "pymysql", "MySQLdb", "mariadb"}
    found = []
    for path in (PACKAGE / "warehouse").rglob("*.py"):
        if DIALECTS in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in drivers]
    assert found == []


def _names_an_engine(node: ast.Compare) -> bool:
    operands = [node.left, *node.comparators]
    for operand in operands:
        values = operand.elts if isinstance(operand, (ast.Tuple, ast.List, ast.Set)) else [operand]
        if any(isinstance(v, ast.Constant) and v.value in ENGINE_NAMES for v in values):
            return True
    return False
