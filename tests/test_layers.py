"""The package's layers: a module never imports a module of a higher layer.

The layers are the numbered list of the package docstring (``stegutils/__init__.py``),
lowest first; every import of every module, at its top or inside a function (and every
``importlib.import_module`` of a literal name), is read from the source with ``ast``
and held against that list. Nothing is imported to check it.
"""

import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "stegutils"


def _module_name(path):
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))
           if "__pycache__" not in path.parts}


def declared_layers():
    """``{module: layer number}`` from the package docstring's numbered list."""
    docstring = ast.get_docstring(ast.parse((ROOT / "__init__.py").read_text()))
    layers, number = {}, None
    for line in docstring.splitlines():
        start = re.match(r"^(\d+)\. ", line)
        if start:
            number = int(start[1])
        elif not line.strip():
            number = None
        if number is None:
            continue
        for name in re.findall(r":mod:`(stegutils(?:\.\w+)*)`", line):
            assert name not in layers, f"{name} is listed twice in the package docstring"
            layers[name] = number
    return layers


LAYERS = declared_layers()


def layer_of(module):
    """The layer of a module: its own, else its nearest listed package's."""
    name = module
    while name:
        if name in LAYERS:
            return LAYERS[name]
        name = name.rpartition(".")[0]
    return None


def _resolve(module, node):
    """The stegutils modules an import statement in ``module`` names."""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.startswith("stegutils")]
    if node.level:
        base = package
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        base = f"{base}.{node.module}" if node.module else base
    else:
        base = node.module or ""
    if not base.startswith("stegutils"):
        return []
    named = [f"{base}.{alias.name}" for alias in node.names]
    found = [name for name in named if name in MODULES]
    return found if len(found) == len(named) else [base, *found]


def imports(module):
    """``[(line, imported module)]`` of every stegutils import in ``module``'s source."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found += [(node.lineno, name) for name in _resolve(module, node)]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant)
              and str(node.args[0].value).startswith("stegutils")):
            found.append((node.lineno, node.args[0].value))
    return found


def test_every_module_of_the_package_has_a_layer():
    missing = sorted(m for m in MODULES if m != "stegutils" and layer_of(m) is None)
    assert not missing, f"not in the package docstring's layers: {missing}"
    unknown = sorted(set(LAYERS) - set(MODULES))
    assert not unknown, f"the package docstring lists modules that do not exist: {unknown}"


def _names(module):
    return {name for _, name in imports(module)}


def test_the_layer_reader_sees_imports_of_every_kind():
    # Checks the checker: relative imports (one and two dots), names from a module,
    # imports inside functions, and the package's own lazy submodules.
    assert "stegutils.book.results" in _names("stegutils.book.timings")  # from . import
    assert "stegutils.data" in _names("stegutils.exercises.ch02_data")  # from .. import
    assert "stegutils.runs" in _names("stegutils.train")  # from stegutils.runs import ...
    assert "stegutils.pretrained" in _names("stegutils.cli")  # inside a function
    assert "stegutils.attacks" in _names("stegutils.plot")
    assert layer_of("stegutils.exercises.ch08_playground") == layer_of("stegutils.exercises")


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "stegutils"))
def test_a_module_imports_nothing_from_a_higher_layer(module):
    own = layer_of(module)
    higher = [f"line {line}: {name} (layer {layer_of(name)})"
              for line, name in imports(module)
              if name != "stegutils" and layer_of(name) is not None and layer_of(name) > own]
    assert not higher, f"{module} (layer {own}) imports from a higher layer: {higher}"


def test_training_and_loading_a_model_import_each_other_only_one_way():
    # The circle the run folder's module broke: loading a shipped model needs neither
    # the training loop nor its Config from there.
    assert "stegutils.train" not in _names("stegutils.pretrained")
    assert "stegutils.runs" in _names("stegutils.pretrained")
    assert layer_of("stegutils.pretrained") < layer_of("stegutils.train")


def test_the_library_imports_from_the_book_machinery_only_its_results_lookup():
    book = {m for m in MODULES if m.startswith("stegutils.book")}
    allowed = {"stegutils.book", "stegutils.book.results"}
    for module in MODULES:
        if module in book or layer_of(module) == max(LAYERS.values()):
            continue
        used = {name for name in _names(module) if name in book} - allowed
        assert not used, f"{module} imports the book's machinery: {sorted(used)}"
