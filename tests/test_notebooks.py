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
              "remove-cell", "raises-exception", "skip-execution",
              # The classroom convention (make student strips on these):
              "solution", "exercise-starter"}


def _id(path):
    return path.name


FENCED = re.compile(r"^(`{3,}|~{3,}).*?^\1\s*$", re.MULTILINE | re.DOTALL)
DIRECTIVE = re.compile(r"^(?:`{3,}|:{3,})\{(exercise|solution|solution-start)\}[ \t]*(.*)$")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,}|:{3,})(.*)$")
EXERCISE_KINDS = {"exercise", "exercise-start", "solution", "solution-start", "solution-end"}


def _markdown(notebook):
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


def _headings(notebook, level):
    # Lines in fenced code blocks ("# a comment" in a ```bash block) are not headings.
    text = FENCED.sub("", _markdown(notebook))
    pattern = re.compile(rf"^{'#' * level} (.+?)\s*$", re.MULTILINE)
    return [match.group(1) for match in pattern.finditer(text)]


def _directives(notebook):
    """(kind, argument, options) of each exercise and solution directive (``:::`` or ```).

    A gated solution counts by its ``{solution-start}``.
    """
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


def test_every_cell_has_its_own_id_in_the_file(notebook):
    # nbformat.read quietly invents missing ids, so read the file as it is committed.
    import json

    path, _ = notebook
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    missing = [index for index, cell in enumerate(cells) if not cell.get("id")]
    assert not missing, f"{path.name}: cells {missing} have no id (nbformat 4.5 needs one)"
    ids = [cell["id"] for cell in cells]
    assert len(set(ids)) == len(ids), f"{path.name}: repeated cell ids"


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
    solutions = [argument for kind, argument, _ in directives
                 if kind in ("solution", "solution-start")]
    assert len(exercises) >= 3, f"{path.name}: {len(exercises)} exercises, expected 3 or more"
    assert None not in exercises, f"{path.name}: every exercise needs a :label:"
    assert sorted(exercises) == sorted(solutions), (
        f"{path.name}: exercises {exercises} and solutions {solutions} do not match"
    )
    closed = [argument for kind, argument, options in directives
              if kind in ("solution", "solution-start")
              and "dropdown" not in options.get("class", "").split()]
    assert not closed, f"{path.name}: solutions {closed} should have ':class: dropdown'"


def test_notebook_uses_only_known_cell_tags(notebook):
    path, nb = notebook
    unknown = {tag for cell in nb.cells for tag in cell.metadata.get("tags", [])} - KNOWN_TAGS
    assert not unknown, f"{path.name}: unknown cell tags {sorted(unknown)}"


def _tags(cell):
    return cell.metadata.get("tags", [])


def _directive_kinds(source):
    """The exercise and solution directives opened in ``source``, in order, nested ones
    included; lines of code blocks (```python) are code, not directives."""
    kinds = []
    open_fences = []  # (fence character, length, whether it is a code block)
    for line in source.splitlines():
        match = FENCE.match(line)
        if not match:
            continue
        fence, info = match.group(1), match.group(2).strip()
        if open_fences and not info and fence[0] == open_fences[-1][0] \
                and len(fence) >= open_fences[-1][1]:
            open_fences.pop()
            continue
        if open_fences and open_fences[-1][2]:
            continue
        directive = re.match(r"^\{([\w-]+)\}", info)
        if fence[0] == ":" and not directive:
            continue
        open_fences.append((fence[0], len(fence), directive is None))
        if directive and directive.group(1) in EXERCISE_KINDS:
            kinds.append(directive.group(1))
    return kinds


def test_every_solution_is_in_cells_tagged_solution_and_nothing_else_is(notebook):
    # make student removes the cells tagged "solution" (and whatever sits between a
    # {solution-start} and its {solution-end}); a solution outside them would reach the
    # students, an exercise inside them would be lost.
    path, nb = notebook
    problems = []
    gate = None  # the index of the cell whose {solution-start} is still open
    for index, cell in enumerate(nb.cells):
        tagged = "solution" in _tags(cell)
        if cell.cell_type == "markdown":
            kinds = _directive_kinds(cell.source)
            solution_kinds = [kind for kind in kinds if kind.startswith("solution")]
            if solution_kinds and not tagged:
                problems.append(f"cell {index} holds a {{{solution_kinds[0]}}} directive but "
                                "is not tagged 'solution'")
            if tagged and not solution_kinds and gate is None:
                problems.append(f"cell {index} is tagged 'solution' but is no solution: no "
                                "solution directive, not between {solution-start} and "
                                "{solution-end}")
            if tagged and len(solution_kinds) < len(kinds):
                problems.append(f"cell {index} is tagged 'solution' but holds an exercise; "
                                "give the exercise its own cell")
            for kind in solution_kinds:
                if kind == "solution-start":
                    if gate is not None:
                        problems.append(f"cell {index}: {{solution-start}} while the one of "
                                        f"cell {gate} is still open")
                    gate = index
                elif kind == "solution-end":
                    if gate is None:
                        problems.append(f"cell {index}: {{solution-end}} without a "
                                        "{solution-start}")
                    gate = None
        elif tagged and gate is None:
            problems.append(f"{cell.cell_type} cell {index} is tagged 'solution' but is not "
                            "between a {solution-start} and a {solution-end}")
        elif not tagged and gate is not None:
            problems.append(f"{cell.cell_type} cell {index} is inside the gated solution "
                            f"opened in cell {gate} but is not tagged 'solution'")
    if gate is not None:
        problems.append(f"the {{solution-start}} of cell {gate} has no {{solution-end}}")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def test_starter_cells_run_their_exercise_checker(notebook):
    # A starter shows the checker's report to students: a code cell, its output hidden
    # in the book (where the solution follows), ending with the checker of an exercise
    # of this chapter.
    path, nb = notebook
    labels = {options.get("label") for kind, _, options in _directives(nb) if kind == "exercise"}
    problems = []
    for index, cell in enumerate(nb.cells):
        if "exercise-starter" not in _tags(cell):
            continue
        if cell.cell_type != "code" or "remove-output" not in _tags(cell) \
                or "solution" in _tags(cell):
            problems.append(f"cell {index}: a starter is a code cell tagged "
                            f"['exercise-starter', 'remove-output'], got {cell.cell_type} "
                            f"{_tags(cell)}")
            continue
        lines = [line for line in cell.source.strip().splitlines() if line.strip()]
        call = re.match(r"^exercises\.(ex_\w+)\(", lines[-1]) if lines else None
        if not call:
            problems.append(f"cell {index}: a starter ends with its checker call, "
                            f"exercises.ex_...(...); it ends with {lines[-1:]}")
        elif call.group(1).replace("_", "-") not in labels:
            problems.append(f"cell {index}: {call.group(1)} checks no exercise of this chapter "
                            f"(labels {sorted(label for label in labels if label)})")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
