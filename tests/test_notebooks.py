"""The chapters are committed clean and in the book's shape.

Every ``book/*.ipynb`` is valid nbformat with a Python kernelspec, carries no outputs
and no execution counts (the book executes them when it builds), and has the sections
every chapter has: Overview, Setup, Summary, Exercises, References. These tests read
the files only; ``test_book_build.py`` executes them.
"""

import re
from pathlib import Path

import nbformat
import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))
SECTIONS = ("Overview", "Setup", "Summary", "Exercises", "References")
KNOWN_TAGS = {"hide-input", "hide-output", "hide-cell", "remove-input", "remove-output",
              "remove-cell", "raises-exception", "skip-execution"}


def _id(path):
    return path.name


FENCED = re.compile(r"^(`{3,}|~{3,}).*?^\1\s*$", re.MULTILINE | re.DOTALL)
DIRECTIVE = re.compile(r"^(?:`{3,}|:{3,})\{(exercise|solution)\}[ \t]*(.*)$")


def _markdown(notebook):
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


def _headings(notebook, level):
    # Lines in fenced code blocks ("# a comment" in a ```bash block) are not headings.
    text = FENCED.sub("", _markdown(notebook))
    pattern = re.compile(rf"^{'#' * level} (.+?)\s*$", re.MULTILINE)
    return [match.group(1) for match in pattern.finditer(text)]


def _directives(notebook):
    """(kind, argument, options) of each exercise and solution directive (``:::`` or ```)."""
    lines = _markdown(notebook).splitlines()
    found = []
    for index, line in enumerate(lines):
        match = DIRECTIVE.match(line.strip())
        if not match:
            continue
        options = {}
        for option in lines[index + 1:]:
            option_match = re.match(r"^:(\w[\w-]*):\s*(.*)$", option.strip())
            if not option_match:
                break
            options[option_match.group(1)] = option_match.group(2)
        found.append((match.group(1), match.group(2).strip(), options))
    return found


def test_the_book_has_chapters():
    assert NOTEBOOKS, f"no notebooks in {BOOK}"


@pytest.fixture(params=NOTEBOOKS, ids=_id)
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_notebook_is_valid_nbformat(notebook):
    path, nb = notebook
    nbformat.validate(nb)  # raises nbformat.ValidationError with the offending field


def test_notebook_has_a_python_kernelspec(notebook):
    path, nb = notebook
    kernelspec = nb.metadata.get("kernelspec", {})
    assert kernelspec.get("name") and kernelspec.get("language") == "python", (
        f"{path.name}: metadata.kernelspec should name a Python kernel, got {kernelspec}"
    )


def test_notebook_is_committed_without_outputs(notebook):
    path, nb = notebook
    dirty = [index for index, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, (
        f"{path.name}: code cells {dirty} have outputs or execution counts; clear them "
        "(jupyter nbconvert --clear-output --inplace) before committing"
    )


def test_notebook_has_one_title_and_the_chapter_sections(notebook):
    path, nb = notebook
    titles = _headings(nb, 1)
    assert len(titles) == 1, f"{path.name}: expected one '# Title', got {titles}"
    sections = _headings(nb, 2)
    missing = [name for name in SECTIONS if name not in sections]
    assert not missing, f"{path.name}: missing '## {'/'.join(missing)}' (has {sections})"
    order = [sections.index(name) for name in SECTIONS]
    assert order == sorted(order), f"{path.name}: sections out of order: {sections}"
    assert sections[0] == "Overview" and sections[1] == "Setup", (
        f"{path.name}: a chapter starts with Overview, then Setup; got {sections[:2]}"
    )


def test_notebook_has_at_least_three_exercises_each_with_a_dropdown_solution(notebook):
    path, nb = notebook
    directives = _directives(nb)
    exercises = [options.get("label") for kind, _, options in directives if kind == "exercise"]
    solutions = [argument for kind, argument, _ in directives if kind == "solution"]
    assert len(exercises) >= 3, f"{path.name}: {len(exercises)} exercises, expected 3 or more"
    assert None not in exercises, f"{path.name}: every exercise needs a :label:"
    assert sorted(exercises) == sorted(solutions), (
        f"{path.name}: exercises {exercises} and solutions {solutions} do not match"
    )
    closed = [argument for kind, argument, options in directives
              if kind == "solution" and "dropdown" not in options.get("class", "").split()]
    assert not closed, f"{path.name}: solutions {closed} should have ':class: dropdown'"


def test_notebook_uses_only_known_cell_tags(notebook):
    path, nb = notebook
    unknown = {tag for cell in nb.cells for tag in cell.metadata.get("tags", [])} - KNOWN_TAGS
    assert not unknown, f"{path.name}: unknown cell tags {sorted(unknown)}"
