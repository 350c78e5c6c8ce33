"""The package's layering, read from the import statements themselves.

Layers, bottom up (README, Development): ``core`` (numpy only) -> ``_torch``
(the one torch adapter) -> ``samplers`` -> ``runs`` -> ``integrations`` ->
``cli``; ``_version`` imports nothing and may be read by any layer; the
package ``__init__`` is the facade.  Every import counts, also one inside a
function; only ``if TYPE_CHECKING:`` blocks (never run) are left out.
"""

from __future__ import annotations

import ast
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "replay_sampler"

#: Layer of each first component below ``replay_sampler``, bottom up.
LAYERS = ["_version", "core", "_torch", "samplers", "runs", "integrations", "cli", "__main__"]
#: Third-party packages each layer may import (the standard library is always allowed).
THIRD_PARTY = {
    "_version": set(),
    "core": {"numpy"},
    "_torch": {"numpy", "torch"},
    "samplers": {"numpy", "torch"},
    "runs": {"numpy", "torch"},
    "integrations": {"numpy", "torch", "lightning", "torchdata", "accelerate"},
    "cli": {"numpy", "torch"},
    "__main__": set(),
}


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_package(path: pathlib.Path) -> bool:
    return path.name == "__init__.py"


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name of a relative import's ``from`` part."""
    if level == 0:
        return target or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _exists(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _skip_type_checking(tree: ast.AST) -> list[ast.AST]:
    """All nodes but those under ``if TYPE_CHECKING:``."""
    out: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            stack.extend(node.orelse)
            continue
        out.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return out


def imports_of(path: pathlib.Path) -> set[str]:
    """Absolute names of the modules ``path`` imports (submodules resolved)."""
    module, package = _module_name(path), _is_package(path)
    found: set[str] = set()
    for node in _skip_type_checking(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, package, node.level, node.module)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                # `from pkg import sub` imports the submodule when there is one
                found.add(candidate if base.startswith("replay_sampler") and _exists(candidate) else base)
    return found


def modules() -> dict[str, pathlib.Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None  # None: the facade


GRAPH = {name: imports_of(path) for name, path in modules().items()}


def test_every_module_is_in_a_layer():
    """A new top-level module or folder has to be given a layer here (and in the README's map)."""
    unknown = {m for m in GRAPH if layer_of(m) is not None and layer_of(m) not in LAYERS}
    assert not unknown


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if layer_of(m) is not None))
def test_imports_go_down_only(module):
    """A module imports its own layer, the layers below it, and its layer's third-party packages."""
    layer = layer_of(module)
    rank = LAYERS.index(layer)
    stdlib = sys.stdlib_module_names
    for name in GRAPH[module]:
        top = name.split(".")[0]
        if top == "replay_sampler":
            other = layer_of(name)
            assert other is not None, f"{module} imports the facade replay_sampler itself"
            if other == "_version":
                continue
            assert LAYERS.index(other) <= rank, f"{module} ({layer}) imports {name} ({other}), a higher layer"
        elif top not in stdlib and top != "__future__":
            assert top in THIRD_PARTY[layer], f"{module} ({layer}) imports {top}"


def test_core_never_imports_torch_or_anything_outside_core():
    """The replay core is numpy-only and self-contained."""
    for module, names in GRAPH.items():
        if layer_of(module) == "core":
            outside = {n for n in names if n.startswith("replay_sampler") and layer_of(n) != "core"}
            assert not outside, f"{module} imports {outside}"
            assert not any(n.split(".")[0] == "torch" for n in names), module


def _state_conversions(path: pathlib.Path) -> list[str]:
    """Calls that move a torch generator's state by hand: ``x.get_state()``,
    ``x.set_state(...)`` (numpy's ``np.random`` excepted), ``torch.frombuffer``,
    ``torch.get_rng_state``, ``torch.set_rng_state``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = ast.unparse(node.func.value)
        attr = node.func.attr
        if attr in ("get_state", "set_state") and owner not in ("np.random", "numpy.random"):
            found.append(f"{owner}.{attr}")
        elif owner == "torch" and attr in ("frombuffer", "get_rng_state", "set_rng_state"):
            found.append(f"torch.{attr}")
    return found


def test_only_the_adapter_converts_torch_states():
    """Generator state goes between torch and the core through ``_torch`` only."""
    offenders = {
        module: calls for module, path in modules().items()
        if module != "replay_sampler._torch" and layer_of(module) not in ("cli", None)
        and (calls := _state_conversions(path))
    }
    assert not offenders


def test_no_import_cycles():
    """The module graph (every import, also inside functions) has no cycle."""
    internal = {m: {n for n in names if n in GRAPH} for m, names in GRAPH.items()}
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for n in sorted(internal[m]):
            if state.get(n) == 1:
                cycle = [*path[path.index(n):], n]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if n not in state:
                visit(n)
        path.pop()
        state[m] = 2

    for m in sorted(internal):
        if m not in state:
            visit(m)


def test_the_graph_is_read():
    """A guard on the reader itself: known edges are found, relative imports resolved."""
    assert "replay_sampler.core._engine" in GRAPH["replay_sampler.core._mt19937"]
    assert "replay_sampler._torch" in GRAPH["replay_sampler.samplers._random"]
    assert "numpy" in GRAPH["replay_sampler.core._engine"]
    assert "torch" in GRAPH["replay_sampler._torch"]
