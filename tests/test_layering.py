"""The product's packages depend one way, and no module of theirs imports itself in a circle.

serving and training may use bandit and features; bandit uses features; nothing imports
serving; features imports none of the others. Every import counts, those inside functions
and under ``TYPE_CHECKING`` too: each is a dependency a reader has to follow.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

#: The product's packages, highest layer first: each may import only those after it.
LAYERS = ("serving", "training", "bandit", "features")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    """Every import among the product's modules (no cache: the tree is read afresh)."""
    return grimp.build_graph(*LAYERS, cache_dir=None)


def cycles(graph: grimp.ImportGraph) -> Iterator[frozenset[str]]:
    """The strongly connected groups of two or more modules (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(module: str) -> Iterator[frozenset[str]]:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                yield from visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == module:
                    break
            if len(group) > 1:
                yield frozenset(group)

    for module in sorted(graph.modules):
        if module not in index:
            yield from visit(module)


def test_no_module_of_the_product_imports_itself_in_a_circle(graph: grimp.ImportGraph) -> None:
    found = [sorted(cycle) for cycle in cycles(graph)]
    assert found == []


def illegal_imports(graph: grimp.ImportGraph) -> list[str]:
    """Each import of a higher layer by a lower one, with the chains that make it."""
    return sorted(
        f"{dependency.importer} imports {dependency.imported}: "
        + "; ".join(
            " -> ".join(
                [",".join(sorted(route.heads)), *route.middle, ",".join(sorted(route.tails))]
            )
            for route in dependency.routes
        )
        for dependency in graph.find_illegal_dependencies_for_layers(layers=LAYERS)
    )


def test_each_package_imports_only_the_packages_below_it(graph: grimp.ImportGraph) -> None:
    assert illegal_imports(graph) == []


def test_an_import_up_the_layers_is_caught() -> None:
    graph = grimp.build_graph(*LAYERS, cache_dir=None)
    graph.add_import(importer="features.moment", imported="serving.app")

    assert illegal_imports(graph) == ["features imports serving: features.moment -> serving.app"]


def test_imports_in_functions_and_under_type_checking_close_cycles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check that missed these imports would miss the cycles they close."""
    package = tmp_path / "loop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def later() -> None:\n    from loop import b\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from loop import a\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    graph = grimp.build_graph("loop", cache_dir=None)

    assert list(cycles(graph)) == [frozenset({"loop.a", "loop.b"})]


#: A module longer than this holds more than one job; split it along its seams.
MAX_MODULE_LINES = 450


def test_no_module_of_the_product_is_longer_than_a_reader_can_hold() -> None:
    root = Path(__file__).resolve().parent.parent
    too_long = {
        str(path.relative_to(root)): lines
        for package in LAYERS
        for path in sorted((root / package).rglob("*.py"))
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}
