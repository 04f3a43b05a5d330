"""The package's import graph: no module imports (directly or lazily) one that imports it back.

import-linter's layers contract (``make lint``) keeps imports pointing down
between subpackages; this test finds any cycle between modules, also inside
a subpackage and through imports made inside functions. Imports made only
for type checking (``if TYPE_CHECKING:``) do not run, so they are left out.
"""

from __future__ import annotations

import grimp
import pytest

PACKAGE = "smartlab_kernel"


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every set of modules that import each other round in a circle (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0

    def visit(module: str) -> None:
        nonlocal counter
        index[module] = low[module] = counter
        counter += 1
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in graph.modules:
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
                cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, exclude_type_checking_imports=True)


def test_no_module_imports_one_that_imports_it_back(graph: grimp.ImportGraph) -> None:
    assert import_cycles(graph) == []


def test_the_lab_core_knows_nothing_of_the_layers_above(graph: grimp.ImportGraph) -> None:
    above = ("campaign", "management", "lims_link", "remote", "widgets", "kernel", "serve", "cli")
    core = sorted(m for m in graph.modules if m.startswith(f"{PACKAGE}.session."))
    old_paths = {f"{PACKAGE}.session.{name}" for name in _MOVED_MODULES}
    for module in core:
        if module in old_paths:
            continue  # a deprecated path: it forwards by name, importing nothing above
        imported = graph.find_modules_directly_imported_by(module)
        upward = sorted(i for i in imported if i.split(".")[1] in above)
        assert upward == [], f"{module} imports {upward}"


def test_the_finder_sees_a_cycle() -> None:
    fake = grimp.ImportGraph()
    for module in ("a", "a.b", "a.c", "a.d"):
        fake.add_module(module)
    fake.add_import(importer="a.b", imported="a.c")
    fake.add_import(importer="a.c", imported="a.b")
    fake.add_import(importer="a.d", imported="a.b")
    assert import_cycles(fake) == [["a.b", "a.c"]]


_MOVED_MODULES = (
    "campaign",
    "reproduce",
    "stored_runs",
    "room_link",
    "safety",
    "alarms",
    "interlock_alarms",
    "environment_log",
    "room_view",
    "lims_link",
    "remote",
    "remote_room",
    "remote_campaign",
)


@pytest.mark.parametrize("old", _MOVED_MODULES)
def test_an_old_path_still_works_with_a_warning(old: str) -> None:
    import importlib

    module = importlib.import_module(f"{PACKAGE}.session.{old}")
    public = [n for n in dir(importlib.import_module(_NEW[old])) if not n.startswith("_")]
    with pytest.warns(DeprecationWarning, match=f"session.{old}.{public[0]} moved"):
        getattr(module, public[0])


_NEW = {
    "campaign": "smartlab_kernel.campaign.loop",
    "reproduce": "smartlab_kernel.campaign.reproduce",
    "stored_runs": "smartlab_kernel.campaign.stored_runs",
    "room_link": "smartlab_kernel.management.room_link",
    "safety": "smartlab_kernel.management.safety",
    "alarms": "smartlab_kernel.management.alarms",
    "interlock_alarms": "smartlab_kernel.management.interlock_alarms",
    "environment_log": "smartlab_kernel.management.environment_log",
    "room_view": "smartlab_kernel.management.room_view",
    "lims_link": "smartlab_kernel.lims_link.link",
    "remote": "smartlab_kernel.remote.lab",
    "remote_room": "smartlab_kernel.remote.room",
    "remote_campaign": "smartlab_kernel.remote.campaign",
}


def test_old_names_from_the_session_package_warn() -> None:
    import smartlab_kernel.session as session
    from smartlab_kernel.management import RoomLink
    from smartlab_kernel.remote import RemoteLab

    with pytest.warns(DeprecationWarning, match="import it from smartlab_kernel.management"):
        assert session.RoomLink is RoomLink
    with pytest.warns(DeprecationWarning, match="import it from smartlab_kernel.remote"):
        assert session.RemoteLab is RemoteLab
