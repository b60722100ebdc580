"""The package's import structure: lazy top-level imports and no import cycle.

The graph is read from the source (every ``import`` statement, module-level or inside a
function, since a deferred import is a dependency too); a package ``__init__`` contributes
the modules its lazy export table names, so ``from ..nn import X`` is an edge to the module
that defines ``X``.
"""

import ast
import pathlib
import subprocess
import sys

import rdinet_sklearn

ROOT = pathlib.Path(rdinet_sklearn.__file__).parent


def _module_name(path):
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module, level, current, is_package):
    if level == 0:
        return module
    base = current.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _lazy_exports(tree, package):
    """``{name: module}`` from an ``attach(__name__, {".mod": [names]}, ...)`` call."""
    exports = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "attach":
            table = ast.literal_eval(node.args[1])
            for relative, names in table.items():
                level = len(relative) - len(relative.lstrip("."))
                target = _resolve(relative.lstrip("."), level, package, True)
                exports.update(dict.fromkeys(names, target))
    return exports


def import_graph():
    """``{module: set of rdinet_sklearn modules it imports}``."""
    sources = {_module_name(p): p for p in ROOT.rglob("*.py")}
    trees = {name: ast.parse(path.read_text()) for name, path in sources.items()}
    packages = {name for name, path in sources.items() if path.name == "__init__.py"}
    exports = {name: _lazy_exports(trees[name], name) for name in packages}
    graph = {}
    for name, tree in trees.items():
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [(alias.name, None) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(node.module, node.level, name, name in packages)
                targets = [(base, alias.name) for alias in node.names]
            else:
                continue
            for module, attribute in targets:
                if not module.startswith("rdinet_sklearn"):
                    continue
                if attribute and f"{module}.{attribute}" in sources:
                    edges.add(f"{module}.{attribute}")  # a submodule
                elif attribute and module in exports and attribute in exports[module]:
                    edges.add(exports[module][attribute])  # through a lazy __init__
                else:
                    edges.add(module)
        graph[name] = edges - {name}
    return graph


def find_cycle(graph):
    """One import cycle as a list of modules, or None (depth-first search)."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert "rdinet_sklearn.nn._state" in graph["rdinet_sklearn.io._nets"]  # edges are seen
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_io_depends_on_nn_one_way():
    graph = import_graph()
    nn = [m for m in graph if m.startswith("rdinet_sklearn.nn")]
    assert not [m for m in nn if any(t.startswith("rdinet_sklearn.io") for t in graph[m])]


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_import_is_lazy():
    probe = (
        "import sys, rdinet_sklearn\n"
        "heavy = {'torch', 'radiomics', 'SimpleITK', 'sklearn', 'pandas'} & set(sys.modules)\n"
        "names = dir(rdinet_sklearn)\n"
        "print(sorted(heavy), 'RDINetClassifier' in names, 'nn' in names)\n"
        "from rdinet_sklearn import VolumeCropper\n"
        "print(VolumeCropper.__module__, 'torch' in sys.modules)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    first, second = run.stdout.strip().splitlines()
    assert first == "[] True True"
    assert second == "rdinet_sklearn.volumes._crop False"  # the cropper needs no torch
