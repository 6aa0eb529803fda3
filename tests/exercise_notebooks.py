"""The code exercises of a chapter notebook, for the tests of the exercise checkers.

The tests take the reference solutions and the starters from the book itself, so the
two cannot drift apart. A cell runs with the imports of the chapter's Setup cell only;
no other cell of the page runs. For example::

    chapter = ExerciseNotebook("07_failures.ipynb")
    hide, reveal = chapter.solution("ex-fail-lsb", "lsb_hide", "lsb_reveal")
    namespace = chapter.starter("ex-fail-lsb")  # the whole cell, checker call included
"""

import ast
import functools
from pathlib import Path

import nbformat

BOOK = Path(__file__).resolve().parents[1] / "book"

# Only the Setup cell holds this line: its imports are the chapter's.
SETUP_MARK = "FAST = train.fast_mode()"


def _tags(cell):
    return cell.metadata.get("tags", [])


class ExerciseNotebook:
    """One chapter notebook of the book, by file name (``"05_training.ipynb"``)."""

    def __init__(self, name):
        self.path = BOOK / name

    @functools.cached_property
    def cells(self):
        return nbformat.read(self.path, as_version=4).cells

    def imports(self):
        """A fresh namespace holding what the chapter's Setup cell imports."""
        setup = next(cell for cell in self.cells
                     if cell.cell_type == "code" and SETUP_MARK in cell.source)
        tree = ast.parse(setup.source)
        imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        namespace = {}
        exec(compile(ast.Module(body=imports, type_ignores=[]),
                     f"{self.path.name}, Setup imports", "exec"), namespace)
        return namespace

    def starter_cell(self, label):
        """The exercise's starter cell, the one students begin from: right after it."""
        index = next(i for i, cell in enumerate(self.cells) if cell.cell_type == "markdown"
                     and f":label: {label}\n" in cell.source)
        cell = self.cells[index + 1]
        assert "exercise-starter" in _tags(cell), f"{label} has no starter cell after it"
        return cell

    def solution_cell(self, label):
        """The first code cell of the exercise's gated solution, as the book shows it.

        That cell defines the answer and ends with its checker; the cells after it may
        use the page's data.
        """
        start = next(i for i, cell in enumerate(self.cells) if "solution" in _tags(cell)
                     and f"{{solution-start}} {label}\n" in cell.source)
        for cell in self.cells[start + 1:]:
            assert "solution" in _tags(cell) and "{solution-end}" not in cell.source, (
                f"the solution of {label} has no code cell")
            if cell.cell_type == "code":
                return cell

    def solution(self, label, *names):
        """Run the first code cell of the exercise's solution; see :meth:`run`."""
        return self.run(self.solution_cell(label), label, names, "solution")

    def starter(self, label, *names):
        """Run the exercise's starter cell; see :meth:`run`."""
        return self.run(self.starter_cell(label), label, names, "starter")

    def run(self, cell, label, names=(), what="cell"):
        """Run a cell of exercise ``label`` with the chapter's imports.

        Without ``names`` the whole cell runs, its checker call included, as in the book,
        and the namespace it leaves is returned. With ``names`` the cell must end with
        the checker called on those functions, ``exercises.<label>(*names)``; all but
        that call runs, and the function is returned (a tuple of them for several names).
        """
        tree = ast.parse(cell.source)
        body = tree.body
        if names:
            call = f"exercises.{label.replace('-', '_')}({', '.join(names)})"
            last = ast.unparse(body[-1])
            assert last == call, f"the {what} cell of {label} should end with {call}, not {last}"
            body = body[:-1]
        namespace = self.imports()
        exec(compile(ast.Module(body=body, type_ignores=[]),
                     f"{self.path.name}, {what} of {label}", "exec"), namespace)
        if not names:
            return namespace
        functions = tuple(namespace[name] for name in names)
        return functions[0] if len(functions) == 1 else functions


def assert_passes(result, cases=None):
    """Assert that a checker passed (and, given ``cases``, that it ran that many)."""
    message = result.message()
    assert result.passed, message
    if cases is not None:
        assert f"all {cases} cases pass" in message, message


def assert_fails_with(result, *words):
    """Assert that a checker failed and that its report holds every one of ``words``."""
    message = result.message()
    assert not result.passed, f"the checker passed a wrong answer:\n{message}"
    absent = [word for word in words if word not in message]
    assert not absent, f"expected {absent} in the report:\n{message}"
