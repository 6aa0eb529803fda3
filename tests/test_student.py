"""The student edition (``make student``) keeps the exercises and loses every solution.

``book/_assets/student.py`` strips the chapters; these tests run its stripping on a
small synthetic notebook, write a small synthetic book, strip the real chapters, and
(slow) build the real student edition from a clean copy of the working tree and read
the rendered pages.
"""

import os
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "book" / "_assets" / "student.py"
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
SOLUTION_DIRECTIVE = re.compile(r"^\s*(?:`{3,}|~{3,}|:{3,})\s*\{solution(?:-start|-end)?\}",
                                re.MULTILINE)


student = load_script(SCRIPT.relative_to(ROOT), "student_edition")


def _tags(cell):
    return list(cell.metadata.get("tags", []))


def _text(notebook):
    return "\n".join(cell.source for cell in notebook.cells)


# --------------------------------------------------------------- what counts as solution text

_MATH_OR_CITATION = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$|\{cite[:\w]*\}`[^`]*`")
_MARKUP = re.compile(r"\{[\w:-]+\}|`+|\*\*?|(?<!\w)_(?!\w)|^\s*(?:[-+]|\d+\.)\s+|\]\([^)]*\)|\[")


def _normalise(text):
    return " ".join(_MARKUP.sub("", text).split())


def _fragments(source, minimum=20):
    """The pieces of ``source`` that survive rendering verbatim, whitespace-normalised.

    Math and citations are rendered differently, so a line is cut there; backticks,
    roles, emphasis and link targets are dropped. Fences and directive options are no
    text of their own.
    """
    pieces = []
    for line in source.splitlines():
        stripped = line.strip()
        if re.match(r"^(?:`{3,}|~{3,}|:{3,})", stripped) or re.match(r"^:[\w-]+:", stripped):
            continue
        for piece in _MATH_OR_CITATION.split(line):
            piece = _normalise(piece)
            if len(piece) >= minimum:
                pieces.append(piece)
    return pieces


def solution_fragments(notebook):
    """Distinctive text of the cells tagged ``solution``: (cell index, fragment) pairs.

    A fragment counts only if no cell that is not a solution has it too: the starter's
    signature line or the checker call are the exercise's, not the solution's.
    """
    kept = _normalise("\n".join(cell.source for cell in notebook.cells
                                if "solution" not in _tags(cell)))
    found = []
    for index, cell in enumerate(notebook.cells):
        if "solution" in _tags(cell):
            found += [(index, piece) for piece in _fragments(cell.source) if piece not in kept]
    return found


# --------------------------------------------------------------- a small synthetic notebook

SECRET_PROSE = "The answer hides in the least significant bits of every pixel."
SECRET_CODE = "return image * 2 - reference_value  # the hidden reference solution"
OLD_STYLE_SECRET = "An old-style solution written inside the exercise cell."


def synthetic_notebook():
    starter = new_code_cell(
        "def double(image):\n    \"\"\"Return the image, doubled.\"\"\"\n    return None\n\n\n"
        "exercises.ex_double(double)",
        metadata={"tags": ["exercise-starter", "remove-output"]}, execution_count=7,
        outputs=[new_output("stream", name="stdout", text="ex-double: 2 of 3 cases fail\n")])
    cells = [
        new_markdown_cell("# A chapter\n\n## Setup"),
        new_code_cell("from stegutils import exercises\nreference_value = 1",
                      execution_count=1,
                      outputs=[new_output("execute_result", data={"text/plain": "1"},
                                          execution_count=1)]),
        new_markdown_cell("## Exercises\n\n```{exercise} A question\n:label: ex-question\n\n"
                          "Where does the secret go?\n```"),
        new_markdown_cell(f"```{{solution}} ex-question\n:class: dropdown\n\n{SECRET_PROSE}\n```",
                          metadata={"tags": ["solution"]}),
        new_markdown_cell("````{exercise} Double it\n:label: ex-double\n\nWrite `double`.\n````"),
        starter,
        new_markdown_cell("````{solution-start} ex-double\n:class: dropdown\n````",
                          metadata={"tags": ["solution"]}),
        new_code_cell(f"def double(image):\n    {SECRET_CODE}\n\n\nexercises.ex_double(double)",
                      metadata={"tags": ["solution"]}, execution_count=8,
                      outputs=[new_output("stream", name="stdout", text="all 3 cases pass\n")]),
        new_markdown_cell("````{solution-end}\n````", metadata={"tags": ["solution"]}),
        new_markdown_cell(":::{exercise}\n:label: ex-old\n\nAn older exercise.\n:::\n\n"
                          f":::{{solution}} ex-old\n:class: dropdown\n\n{OLD_STYLE_SECRET}\n"
                          "```python\nprint('inside')\n```\n:::\n\nProse after it stays."),
        new_markdown_cell("## References\n\n- a reference"),
    ]
    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.validate(notebook)
    return notebook


def test_stripping_removes_solution_cells_and_text_and_clears_outputs():
    original = synthetic_notebook()
    before = nbformat.writes(original)
    stripped, counts = student.strip_notebook(original, name="synthetic.ipynb")

    assert nbformat.writes(original) == before, "strip_notebook changed its input"
    nbformat.validate(stripped)
    assert not [cell for cell in stripped.cells if "solution" in _tags(cell)]
    text = _text(stripped)
    for secret in (SECRET_PROSE, SECRET_CODE, OLD_STYLE_SECRET, "print('inside')"):
        assert secret not in text, f"solution text survives: {secret!r}"
    assert not SOLUTION_DIRECTIVE.search(text), text
    assert "Prose after it stays." in text and "An older exercise." in text
    assert student.exercise_labels(stripped) == ["ex-question", "ex-double", "ex-old"]
    for cell in stripped.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    starters = [cell for cell in stripped.cells if "exercise-starter" in _tags(cell)]
    assert len(starters) == 1 and _tags(starters[0]) == ["exercise-starter"]
    assert "exercises.ex_double(double)" in starters[0].source
    assert counts == {"solution_cells": 4, "solution_text_blocks": 1, "starter_cells": 1}


def test_fragments_find_the_synthetic_solutions():
    # The leak check below is only as good as its fragments: it must see these.
    fragments = {piece for _, piece in solution_fragments(synthetic_notebook())}
    assert _normalise(SECRET_PROSE) in fragments
    assert _normalise(SECRET_CODE) in fragments
    assert not any("exercises.ex_double" in piece or "def double(image)" in piece
                   for piece in fragments), "the starter's lines are not solution text"


def test_cells_inside_a_gate_go_even_when_untagged():
    notebook = synthetic_notebook()
    gated = [cell for cell in notebook.cells if SECRET_CODE in cell.source][0]
    gated.metadata["tags"] = []
    stripped, _ = student.strip_notebook(notebook)
    assert SECRET_CODE not in _text(stripped)


@pytest.mark.parametrize("broken, message", [
    (lambda cells: cells.pop(8), "has no {solution-end}"),
    (lambda cells: cells.pop(6), "without a {solution-start}"),
    (lambda cells: cells.insert(
        3, new_markdown_cell("::::{exercise}\n:label: ex-nested\n\n:::{solution} ex-nested\n"
                             "inside\n:::\n::::")), "solution directives survive"),
])
def test_stripping_refuses_what_it_cannot_strip_safely(broken, message):
    notebook = synthetic_notebook()
    broken(notebook.cells)
    with pytest.raises(student.StudentBuildError, match=re.escape(message)):
        student.strip_notebook(notebook, name="broken.ipynb")


def test_student_toc_leaves_out_the_instructor_page():
    toc = {"format": "jb-book", "root": "book/intro", "parts": [
        {"caption": "Chapters", "chapters": [{"file": "book/01_a"}]},
        {"caption": "Teaching", "chapters": [{"file": "book/instructor"}]},
        {"caption": "Back matter", "chapters": [{"file": "book/instructor.md"},
                                                {"file": "book/reproduction"}]}]}
    assert student.student_toc(toc) == {"format": "jb-book", "root": "book/intro", "parts": [
        {"caption": "Chapters", "chapters": [{"file": "book/01_a"}]},
        {"caption": "Back matter", "chapters": [{"file": "book/reproduction"}]}]}
    assert toc["parts"][1]["chapters"] == [{"file": "book/instructor"}], "input changed"


def test_student_config_is_titled_and_opens_no_full_notebook():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    adjusted = student.student_config(config)
    assert adjusted["title"] == config["title"] + " (student edition)"
    assert not adjusted["launch_buttons"]["colab_url"]
    assert not adjusted["launch_buttons"]["binderhub_url"]
    assert "_student" not in adjusted["exclude_patterns"]
    assert {"_build", "book/_assets"} <= set(adjusted["exclude_patterns"])
    assert adjusted["sphinx"]["config"]["html_static_path"] == (
        config["sphinx"]["config"]["html_static_path"])


def test_links_to_the_instructor_page_keep_only_their_text():
    text = ("See {doc}`the plan <instructor>`, {doc}`/book/instructor`, "
            "[the plan](instructor.md), {ref}`timings <plan-timings>` and {doc}`02_data`, "
            "{ref}`sec-data`.")
    assert student._unlink_instructor_pages(text, "book/intro.md", {"plan-timings"}) == (
        "See the plan, the instructor's page (not in the student edition), "
        "the plan, timings and {doc}`02_data`, {ref}`sec-data`.")


def _tiny_book(root):
    (root / "book" / "_assets" / "vendor" / "mathjax").mkdir(parents=True)
    (root / "book" / "_assets" / "vendor" / "mathjax" / "tex.js").write_text("// js\n")
    (root / "book" / "images").mkdir()
    (root / "book" / "images" / "a.png").write_bytes(b"\x89PNG fake")
    (root / "book" / "intro.md").write_text(
        "# Intro\n\nTeachers: {doc}`instructor`, {ref}`the plan <plan>`.\n")
    (root / "book" / "instructor.md").write_text("(plan)=\n# Instructor\n\nAnswers: 42\n")
    nbformat.write(synthetic_notebook(), root / "book" / "01_a.ipynb")
    (root / "references.bib").write_text("@misc{a, title={A}}\n")
    (root / "_toc.yml").write_text(yaml.safe_dump({
        "format": "jb-book", "root": "book/intro",
        "chapters": [{"file": "book/01_a"}, {"file": "book/instructor"}]}))
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    (root / "_config.yml").write_text(yaml.safe_dump(config))


def test_write_student_edition_on_a_tiny_book(tmp_path, capsys):
    _tiny_book(tmp_path)
    out = tmp_path / "_student"
    assert student.write_student_edition(tmp_path, out) == [Path("book/01_a.ipynb")]

    notebook = nbformat.read(out / "book" / "01_a.ipynb", as_version=4)
    assert SECRET_CODE not in _text(notebook) and SECRET_PROSE not in _text(notebook)
    assert not (out / "book" / "instructor.md").exists()
    assert "instructor" not in (out / "_toc.yml").read_text()
    assert (out / "book" / "intro.md").read_text() == (
        "# Intro\n\nTeachers: the instructor's page (not in the student edition), the plan.\n")
    config = yaml.safe_load((out / "_config.yml").read_text())
    assert config["title"].endswith("(student edition)")
    for static in config["sphinx"]["config"]["html_static_path"]:
        assert (out / static).is_dir() or static.endswith("/js"), static
    assert (out / "book" / "_assets" / "vendor" / "mathjax" / "tex.js").is_file()
    assert (out / "book" / "images" / "a.png").read_bytes() == b"\x89PNG fake"
    assert (out / "references.bib").is_file()
    assert not (out / "book" / "_assets" / "student.py").exists()

    # A second run changes nothing (so Sphinx rebuilds nothing) and removes what went.
    (out / "_build").mkdir()
    (out / "_build" / "kept.txt").write_text("build output")
    (out / "book" / "stale.md").write_text("# gone from the book\n")
    capsys.readouterr()
    student.write_student_edition(tmp_path, out)
    assert "0 files changed, 1 stale files removed" in capsys.readouterr().out
    assert not (out / "book" / "stale.md").exists()
    assert (out / "_build" / "kept.txt").is_file()


def test_write_student_edition_refuses_a_folder_it_did_not_write(tmp_path):
    _tiny_book(tmp_path)
    (tmp_path / "_student").mkdir()
    (tmp_path / "_student" / "notes.txt").write_text("mine")
    with pytest.raises(student.StudentBuildError, match="not written by make student"):
        student.write_student_edition(tmp_path, tmp_path / "_student")
    assert (tmp_path / "_student" / "notes.txt").read_text() == "mine"


def test_write_student_edition_says_when_the_javascript_is_missing(tmp_path):
    _tiny_book(tmp_path)
    shutil.rmtree(tmp_path / "book" / "_assets" / "vendor")
    with pytest.raises(student.StudentBuildError, match="make book-assets"):
        student.write_student_edition(tmp_path, tmp_path / "_student")


def test_the_script_reports_errors_in_words(tmp_path, capsys):
    assert student.main(["--root", str(tmp_path)]) == 1
    assert "is missing: is" in capsys.readouterr().err


# --------------------------------------------------------------- the real chapters

def test_the_book_has_chapters():
    assert NOTEBOOKS, f"no notebooks in {ROOT / 'book'}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_student_copy_of_each_chapter_has_no_solution_and_every_exercise(path):
    original = nbformat.read(path, as_version=4)
    stripped, _ = student.strip_notebook(original, name=path.name)
    text = _text(stripped)
    assert not [index for index, cell in enumerate(stripped.cells)
                if "solution" in _tags(cell)]
    assert not SOLUTION_DIRECTIVE.search(text), f"{path.name}: a solution directive survives"
    normalised = _normalise(text)
    leaks = [f"cell {index}: {piece!r}" for index, piece in solution_fragments(original)
             if piece in normalised]
    assert not leaks, f"{path.name}: solution text survives:\n" + "\n".join(leaks)
    labels = student.exercise_labels(original)
    assert labels and student.exercise_labels(stripped) == labels
    for cell in original.cells:  # every exercise directive, word for word
        if cell.cell_type == "markdown" and re.search(r"\{exercise(?:-start)?\}", cell.source) \
                and "solution" not in _tags(cell) and not SOLUTION_DIRECTIVE.search(cell.source):
            assert cell.source.strip() in text, f"{path.name}: an exercise cell changed"
    for cell in stripped.cells:
        if "exercise-starter" in _tags(cell):
            assert "remove-output" not in _tags(cell)


# --------------------------------------------------------------- the rendered student book

class _PageText(HTMLParser):
    """A page's text (all of it, scripts included) and the classes and ids of its elements."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.classes = []  # (tag, class list, id)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("class") or attrs.get("id"):
            self.classes.append((tag, (attrs.get("class") or "").split(), attrs.get("id")))

    def handle_data(self, data):
        self.parts.append(data)


def _read_page(path):
    parser = _PageText()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    # Highlighted code is split into many text nodes: join them as they are.
    return _normalise("".join(parser.parts)), parser.classes


def _output_text(notebook):
    """The text of an executed notebook's outputs (what its kept cells print and show)."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                parts.append(output["text"])
            for kind, value in output.get("data", {}).items():
                if kind.startswith("text/") and isinstance(value, str):
                    parser = _PageText()
                    parser.feed(value)
                    parts.append("".join(parser.parts))
    return _normalise("\n".join(parts))


def _clean_copy(destination):
    """The working tree's files (tracked, and untracked but not ignored), as a fresh
    clone with uncommitted changes would have them, plus the fetched JavaScript."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        # Not a git checkout: everything but what .gitignore names.
        shutil.copytree(ROOT, destination, ignore=shutil.ignore_patterns(
            ".git", ".venv", "_build", "_student", "runs", "build", "dist", ".cache",
            "__pycache__", "*.egg-info", ".pytest_cache", ".ipynb_checkpoints"))
        return
    for name in filter(None, listing):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    shutil.copytree(ROOT / "book" / "_assets" / "vendor",
                    destination / "book" / "_assets" / "vendor")


@pytest.fixture(scope="module")
def built_student(tmp_path_factory):
    """The real student edition, written and built from a clean copy of the working tree.

    (exit status, the copy's root, log, seconds): the copy's chapters are what was
    built, whatever happens to the working tree meanwhile. Fetches the pinned
    JavaScript first, as the build fixture of the full book does.
    """
    fetch = subprocess.run([sys.executable, str(ROOT / "book" / "_assets" / "fetch.py")],
                           cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert fetch.returncode == 0, (
        f"fetching the book's JavaScript failed:\n{fetch.stdout}{fetch.stderr}")
    copy = tmp_path_factory.mktemp("clean") / "book-root"
    _clean_copy(copy)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", NO_COLOR="1")
    start = time.monotonic()
    result = subprocess.run([sys.executable, "book/_assets/student.py", "--build"], cwd=copy,
                            env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    log = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + "\n" + result.stderr)
    print(f"make student's script took {seconds:.0f} s")
    return result.returncode, copy, log, seconds


def _tail(log, lines=60):
    return "\n".join(log.splitlines()[-lines:])


@pytest.mark.slow
def test_student_edition_builds_and_every_chapter_runs(built_student):
    returncode, copy, log, seconds = built_student
    out = copy / "_student"
    assert returncode == 0, (
        f"the student edition did not build (status {returncode}, {seconds:.0f} s):\n"
        f"{_tail(log)}")
    html = out / "_build" / "html"
    toc = yaml.safe_load((out / "_toc.yml").read_text())
    pages = [toc["root"]] + [chapter["file"] for part in toc.get("parts", [])
                             for chapter in part.get("chapters", [])]
    missing = [page for page in pages if not (html / f"{page}.html").is_file()]
    assert not missing, f"pages missing from {html}: {missing}"
    chapters = {f"book/{path.stem}" for path in (copy / "book").glob("*.ipynb")}
    assert chapters
    assert chapters <= set(pages), f"chapters missing from the student toc: {chapters - set(pages)}"
    assert "book/instructor" not in pages
    assert not (html / "book" / "instructor.html").exists()


@pytest.mark.slow
def test_student_pages_show_no_solution(built_student):
    returncode, copy, log, _ = built_student
    assert returncode == 0, f"the student edition did not build:\n{_tail(log)}"
    out = copy / "_student"
    html = out / "_build" / "html"
    problems = []
    for page in sorted(html.rglob("*.html")):
        if page.relative_to(html).parts[0].startswith("_"):
            continue
        _, classes = _read_page(page)
        for tag, names, element_id in classes:
            if "solution" in names:
                problems.append(f"{page.relative_to(html)}: <{tag} class=\"{' '.join(names)}\""
                                f" id={element_id!r}>")
    for path in sorted((copy / "book").glob("*.ipynb")):
        original = nbformat.read(path, as_version=4)
        page = html / "book" / f"{path.stem}.html"
        text, classes = _read_page(page)
        ids = {element_id for _, _, element_id in classes if element_id}
        for label in student.exercise_labels(original):
            if label not in ids:
                problems.append(f"{page.relative_to(html)}: exercise {label} is not on the page")
        sources = [text]
        downloaded = html / "_sources" / "book" / path.name
        if downloaded.is_file():  # the page's "download .ipynb" button
            sources.append(_normalise(_text(nbformat.read(downloaded, as_version=4))))
        # A page may show, as the output of a cell students keep, code that a solution
        # repeats (chapter 6 prints the library's backward pass): that is the chapter's.
        executed = out / "_build" / "jupyter_execute" / "book" / path.name
        shown = _output_text(nbformat.read(executed, as_version=4)) if executed.is_file() else ""
        for index, piece in solution_fragments(original):
            if piece in shown:
                continue
            if any(piece in source for source in sources):
                problems.append(f"{page.relative_to(html)}: solution text of cell {index} "
                                f"survives: {piece!r}")
    assert not problems, "the student pages show solutions:\n" + "\n".join(problems)
