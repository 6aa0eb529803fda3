"""Chapter 1's checker against the solution in the notebook and typical wrong answers.

The reference solution is read from the notebook's solution cell (so the two cannot
drift apart), executed with the chapter's imports only.
"""

import ast
from pathlib import Path

import nbformat
import numpy as np
import pytest

from stegutils import exercises

NOTEBOOK = Path(__file__).resolve().parents[1] / "book" / "01_introduction.ipynb"


def _cells():
    return nbformat.read(NOTEBOOK, as_version=4).cells


def _imports():
    """A namespace holding what the chapter's Setup cell imports (nothing else runs)."""
    setup = next(cell for cell in _cells()
                 if cell.cell_type == "code" and "FAST = train.fast_mode()" in cell.source)
    tree = ast.parse(setup.source)
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    namespace = {}
    exec(compile(ast.Module(body=imports, type_ignores=[]), "setup", "exec"), namespace)
    return namespace


def _function_from(label, name, tag):
    """The function ``name`` that the first cell tagged ``tag`` after exercise ``label``
    defines; the cell must end with the checker call, which is not run here."""
    cells = _cells()
    start = next(index for index, cell in enumerate(cells)
                 if cell.cell_type == "markdown" and f":label: {label}" in cell.source)
    source = next(cell.source for cell in cells[start:]
                  if cell.cell_type == "code" and tag in cell.metadata.get("tags", []))
    tree = ast.parse(source)
    call = f"exercises.{label.replace('-', '_')}({name})"
    assert ast.unparse(tree.body[-1]) == call, (
        f"the {tag} cell of {label} should end with {call}, not {ast.unparse(tree.body[-1])}")
    namespace = _imports()
    exec(compile(ast.Module(body=tree.body[:-1], type_ignores=[]), label, "exec"), namespace)
    return namespace[name]


def reference(label, name):
    """The function as the notebook's solution cell defines it."""
    return _function_from(label, name, "solution")


def starter(label, name):
    """The stub of the notebook's starter cell."""
    return _function_from(label, name, "exercise-starter")


def failing(result, *words):
    """Assert that a checker failed and that its report holds every one of ``words``."""
    message = result.message()
    assert not result.passed, f"expected a failure, got: {message}"
    absent = [word for word in words if word not in message]
    assert not absent, f"expected {absent} in:\n{message}"


def _plain(container, bits):
    """The chapter's lsb_reveal: no half step."""
    low = np.round(np.asarray(container) * 255).astype(np.uint8) & ((1 << bits) - 1)
    return (low << (8 - bits)).astype(np.float32) / 255


def _full_step(container, bits):
    low = np.round(np.asarray(container) * 255).astype(np.uint8) & ((1 << bits) - 1)
    return ((low << (8 - bits)) + np.uint8(1 << (8 - bits))).astype(np.float32) / 255


def _on_255_scale(container, bits):
    low = np.round(np.asarray(container) * 255).astype(np.int32) & ((1 << bits) - 1)
    return ((low << (8 - bits)) + (1 << (7 - bits))).astype(np.float32)


def _wrong_shift(container, bits):
    low = np.round(np.asarray(container) * 255).astype(np.int32) & ((1 << bits) - 1)
    return ((low << bits) % 256 + (1 << (7 - bits))).astype(np.float32) / 255


def _raises(container, bits):
    raise ValueError("not yet")


def test_ex_intro_centre_passes_the_reference_solution():
    result = exercises.ex_intro_centre(reference("ex-intro-centre", "lsb_reveal_centred"))
    assert result.passed, result.message()
    assert result.cases == 5


@pytest.mark.parametrize("wrong, words", [
    (_plain, ["bottom of the range", "1 << (7 - bits)"]),
    (_full_step, ["whole step", "1 << (7 - bits)"]),
    (_on_255_scale, ["values up to", "[0, 1]"]),
    (_wrong_shift, ["is wrong at", "8 - bits"]),
    (_raises, ["raised ValueError: not yet"]),
], ids=["no-half-step", "whole-step", "0-255-scale", "wrong-shift", "raises"])
def test_ex_intro_centre_explains_typical_mistakes(wrong, words):
    failing(exercises.ex_intro_centre(wrong), *words)


def test_ex_intro_centre_reports_the_unfinished_starter_once():
    result = exercises.ex_intro_centre(starter("ex-intro-centre", "lsb_reveal_centred"))
    failing(result, "returned None")
    assert len(result.problems) == 1
