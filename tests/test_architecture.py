"""The layout docs/architecture.md draws, checked on the import graph of csvhub (grimp reads
every import statement, those inside functions too)."""

from __future__ import annotations

import functools
from pathlib import Path

import grimp
import pytest

import csvhub

PURE = ("csvhub.csvread", "csvhub.schema", "csvhub.alarms.machine")  # testable without Django
# grimp sees Python modules only: `from csvhub.csvread import _splitter` (a C extension) reads to
# it as an import of the package csvhub.csvread, which is not one.
C_EXTENSIONS = {path.stem for path in Path(csvhub.__file__).parent.rglob("*.c")}


@functools.cache
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("csvhub", include_external_packages=True, cache_dir=None)


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The import cycles among csvhub's modules: strongly connected sets of two or more modules
    (Tarjan), each listed sorted."""
    modules = sorted(m for m in graph.modules if m == "csvhub" or m.startswith("csvhub."))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if not imported.startswith("csvhub") or _only_c_extensions(graph, module, imported):
                continue
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in modules:
        if module not in index:
            visit(module)
    return found


def _only_c_extensions(graph: grimp.ImportGraph, importer: str, imported: str) -> bool:
    details = graph.get_import_details(importer=importer, imported=imported)
    return bool(details) and all(
        detail["line_contents"].rsplit(" ", 1)[-1] in C_EXTENSIONS for detail in details
    )


def test_no_module_of_csvhub_imports_itself_back() -> None:
    assert _cycles(graph()) == []


@pytest.mark.parametrize("package", PURE)
def test_pure_packages_import_no_django(package: str) -> None:
    chain = graph().find_shortest_chain(importer=package, imported="django", as_packages=True)
    assert chain is None, " → ".join(chain or ())


def test_only_the_warehouse_imports_sqlalchemy() -> None:
    importers = graph().find_modules_that_directly_import("sqlalchemy")
    outside = sorted(m for m in importers if not m.startswith("csvhub.warehouse"))
    assert importers and outside == []


@pytest.mark.parametrize(
    ("one", "other"),
    [("csvhub.datasets.rows", "csvhub.datasets.analysis")],
)
def test_rows_and_analysis_share_the_selection_seam_not_each_other(one: str, other: str) -> None:
    for importer, imported in ((one, other), (other, one)):
        chain = graph().find_shortest_chain(importer=importer, imported=imported)
        assert chain is None, " → ".join(chain or ())
