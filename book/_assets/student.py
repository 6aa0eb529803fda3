"""Write the student edition of the book into ``_student/`` (``make student``).

The chapters keep their solutions in cells tagged ``solution``: a markdown cell with a
``{solution}`` directive for a question, or, for code, the gated form (a markdown cell
``{solution-start}``, code cells, a markdown cell ``{solution-end}``). The student
edition is a copy of the book's sources in which every notebook

- has lost its cells tagged ``solution``, any cell inside a ``{solution-start}`` ...
  ``{solution-end}`` gate, and any remaining text of a solution directive;
- has no outputs and no execution counts;
- keeps its starter cells (tag ``exercise-starter``) without their ``remove-output``
  tag, so that students see the checker's report.

Beside the notebooks it writes the book's other pages (without the instructor's page),
images and JavaScript, ``references.bib``, the benchmark results the chapters read, a
``_toc.yml`` without the instructor's page and a ``_config.yml`` titled as the student
edition (launch buttons off: they would open the full notebooks). Files are written
atomically and only when their contents change, so that a second run rebuilds only
what changed. With ``--build`` it then builds the rendered student book into
``_student/_build/html``, executing every chapter in fast mode (``STEGUTILS_FAST=1``)
and failing on any warning, so a successful build shows that each student chapter
runs end to end without its solutions. Usage::

    python book/_assets/student.py               # write _student/
    python book/_assets/student.py --build       # ... and build it (make student)
    python book/_assets/student.py --build --all # extra options go to jupyter-book build

This file lives in ``book/_assets``, which ``_config.yml`` excludes from the book.
"""

import argparse
import copy
import filecmp
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUTPUT = "_student"
# Pages for the instructor only: left out of the student copy and its table of contents.
INSTRUCTOR_PAGES = ("book/instructor",)
SOLUTION_TAG = "solution"
STARTER_TAG = "exercise-starter"
SOLUTION_KINDS = ("solution", "solution-start", "solution-end")
MARKER = ".student-edition"
TITLE_SUFFIX = " (student edition)"
# Never copied from book/ (build outputs, caches, this script).
SKIP_NAMES = {"_build", ".ipynb_checkpoints", "__pycache__", ".DS_Store", "Thumbs.db"}
SKIP_FILES = {"book/_assets/student.py"}
# A solution directive's opening line, in whichever fence (checked after stripping).
SOLUTION_LINE = re.compile(r"^\s*(?:`{3,}|~{3,}|:{3,})\s*\{solution(?:-start|-end)?\}")
DIRECTIVE_INFO = re.compile(r"^\{([\w-]+)\}\s*(.*)$")


class StudentBuildError(Exception):
    """Something in the book's sources stops the student edition; the message says what."""


# --------------------------------------------------------------------------- notebooks

def _markdown_parser():
    # The same block structure MyST sees: backtick fences and colon fences
    # (myst_enable_extensions: colon_fence), whatever their length.
    from markdown_it import MarkdownIt
    from mdit_py_plugins.colon_fence import colon_fence_plugin

    return MarkdownIt("commonmark").use(colon_fence_plugin)


_PARSER = None


def directives(text):
    """(name, argument, first line, end line) of each top-level directive in ``text``.

    Lines count from 0; the end line is one past the closing fence (or the end of the
    text for a fence that is never closed, as MyST reads it).
    """
    global _PARSER
    if _PARSER is None:
        _PARSER = _markdown_parser()
    found = []
    for token in _PARSER.parse(text):
        if token.type in ("fence", "colon_fence") and token.level == 0 and token.map:
            match = DIRECTIVE_INFO.match(token.info.strip())
            if match:
                found.append((match.group(1), match.group(2).strip(), *token.map))
    return found


def _source(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _tags(cell):
    return list(cell.get("metadata", {}).get("tags", []))


def strip_notebook(notebook, *, name="notebook"):
    """Return a student copy of ``notebook`` and counts of what was removed.

    Removes cells tagged ``solution``, every cell inside a ``{solution-start}`` ...
    ``{solution-end}`` gate (tagged or not), and the text of any solution directive
    left in other markdown cells; clears outputs and execution counts; drops
    ``remove-output`` from starter cells. ``notebook`` is not changed. Raises
    :class:`StudentBuildError` for a gate that is not closed, an end without a start,
    or solution text that would survive.
    """
    student = copy.deepcopy(notebook)
    kept = []
    counts = {"solution_cells": 0, "solution_text_blocks": 0, "starter_cells": 0}
    gate = None  # (label, index of the cell that opened it) while inside a gated solution
    for index, cell in enumerate(student.cells):
        tags = _tags(cell)
        where = f"{name}, cell {index}"
        if cell.cell_type == "markdown":
            text = _source(cell)
            lines = text.splitlines(keepends=True)
            keep = [gate is None] * len(lines)
            for kind, argument, first, end in directives(text):
                if kind not in SOLUTION_KINDS:
                    continue
                if kind == "solution-end":
                    if gate is None:
                        raise StudentBuildError(
                            f"{where}: a {{solution-end}} without a {{solution-start}} "
                            "before it")
                    gate = None
                    keep[first:] = [True] * (len(lines) - first)
                elif kind == "solution-start":
                    if gate is not None:
                        raise StudentBuildError(
                            f"{where}: a {{solution-start}} {argument} inside the gated "
                            f"solution {gate[0]} opened in cell {gate[1]}; close that one "
                            "with {solution-end} first")
                    gate = (argument or "?", index)
                    keep[first:] = [False] * (len(lines) - first)
                for line in range(first, min(end, len(lines))):
                    keep[line] = False
                if SOLUTION_TAG not in tags:
                    counts["solution_text_blocks"] += 1
            if SOLUTION_TAG in tags:
                counts["solution_cells"] += 1
                continue
            if not all(keep):
                remaining = "".join(line for line, flag in zip(lines, keep) if flag)
                if not remaining.strip():
                    continue
                cell.source = remaining.strip("\n")
        elif SOLUTION_TAG in tags or gate is not None:
            counts["solution_cells"] += 1
            continue
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            if STARTER_TAG in tags:
                counts["starter_cells"] += 1
                tags = [tag for tag in tags if tag != "remove-output"]
        cell.metadata.pop("execution", None)
        if "tags" in cell.metadata:
            if tags:
                cell.metadata["tags"] = tags
            else:
                del cell.metadata["tags"]
        kept.append(cell)
    if gate is not None:
        raise StudentBuildError(
            f"{name}, cell {gate[1]}: the gated solution {gate[0]} has no {{solution-end}}")
    student.cells = kept
    student.metadata.pop("widgets", None)  # saved widget state from a run
    leaks = [f"cell {index}: {line.strip()}"
             for index, cell in enumerate(kept) if cell.cell_type == "markdown"
             for line in _source(cell).splitlines() if SOLUTION_LINE.match(line)]
    if leaks:
        raise StudentBuildError(
            f"{name}: solution directives survive the stripping (inside another "
            "directive?); move each solution into its own cell tagged 'solution':\n  "
            + "\n  ".join(leaks))
    return student, counts


def exercise_labels(notebook):
    """The ``:label:`` of every exercise directive in ``notebook``, in order."""
    labels = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        text = _source(cell)
        lines = text.splitlines()
        for kind, _, first, end in directives(text):
            if kind in ("exercise", "exercise-start"):
                label = None
                for line in lines[first + 1:end]:
                    match = re.match(r"^\s*:label:\s*(\S+)", line)
                    if match:
                        label = match.group(1)
                        break
                    if not re.match(r"^\s*:[\w-]+:", line):
                        break
                labels.append(label)
    return labels


# --------------------------------------------------------------------------- files

class _Writer:
    """Writes files under one folder atomically, only when their contents change."""

    def __init__(self, out):
        self.out = out
        self.written = set()
        self.changed = 0

    def _target(self, relative):
        target = self.out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        self.written.add(Path(relative))
        return target

    def _replace(self, target, fill):
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                             dir=target.parent)
        try:
            with os.fdopen(handle, "wb") as file:
                fill(file)
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self.changed += 1

    def text(self, relative, text):
        target = self._target(relative)
        data = text.encode("utf-8")
        if target.is_file() and target.read_bytes() == data:
            return
        self._replace(target, lambda file: file.write(data))

    def copy(self, relative, source):
        target = self._target(relative)
        if target.is_file() and filecmp.cmp(source, target, shallow=False):
            return

        def fill(file):
            with open(source, "rb") as original:
                shutil.copyfileobj(original, file)
        self._replace(target, fill)

    def remove_stale(self, keep=("_build",)):
        """Delete files under the folder that this run did not write (not ``keep``)."""
        removed = 0
        for folder, subfolders, files in os.walk(self.out, topdown=False):
            folder = Path(folder)
            relative_folder = folder.relative_to(self.out)
            if relative_folder.parts and relative_folder.parts[0] in keep:
                continue
            for name in files:
                relative = relative_folder / name
                if relative not in self.written and relative.as_posix() != MARKER:
                    (folder / name).unlink()
                    removed += 1
            if relative_folder.parts and not any(folder.iterdir()):
                folder.rmdir()
        return removed


def _is_instructor_page(entry):
    return str(entry).removesuffix(".md").removesuffix(".ipynb") in INSTRUCTOR_PAGES


def student_toc(toc):
    """``toc`` (the parsed _toc.yml) without the instructor's pages; empty parts go."""
    toc = copy.deepcopy(toc)
    if _is_instructor_page(toc.get("root", "")):
        raise StudentBuildError("_toc.yml: the root page is the instructor's page")

    def prune(entries):
        kept = []
        for entry in entries:
            if isinstance(entry, dict):
                if _is_instructor_page(entry.get("file", "")):
                    continue
                for key in ("chapters", "sections", "parts"):
                    if key in entry:
                        entry[key] = prune(entry[key])
                        if not entry[key]:
                            del entry[key]
                if "file" not in entry and "url" not in entry and "glob" not in entry \
                        and not any(key in entry for key in ("chapters", "sections")):
                    continue  # a part left with nothing in it
            kept.append(entry)
        return kept

    for key in ("parts", "chapters", "sections"):
        if key in toc:
            toc[key] = prune(toc[key])
    return toc


def student_config(config):
    """``config`` (the parsed _config.yml) adjusted for the student edition."""
    config = copy.deepcopy(config)
    title = config.get("title") or "The book"
    if not title.endswith(TITLE_SUFFIX):
        config["title"] = title + TITLE_SUFFIX
    config["exclude_patterns"] = [pattern for pattern in config.get("exclude_patterns", [])
                                  if pattern.strip("/") != OUTPUT]
    # Colab and Binder would open the repository's notebooks, solutions included.
    launch = config.setdefault("launch_buttons", {})
    launch["colab_url"] = ""
    launch["binderhub_url"] = ""
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx_config["hide_solutions"] = True  # sphinx-exercise: drop any solution left
    return config


# {doc} roles and Markdown links that point to a page left out, and {ref} roles that point
# to a label on it, keep only their text.
def _unlink_instructor_pages(text, page, labels=()):
    folder = Path(page).parent

    def points_to_instructor(target):
        target = target.strip().split("#")[0]
        for suffix in (".md", ".ipynb"):
            target = target.removesuffix(suffix)
        if not target or "://" in target:
            return False
        # MyST reads a path as relative to the page, or to the root with a leading "/".
        resolved = target.lstrip("/") if target.startswith("/") \
            else os.path.normpath((folder / target).as_posix())
        return resolved in INSTRUCTOR_PAGES

    def doc_role(match):
        explicit = re.match(r"^(.*?)\s*<([^<>]+)>$", match.group(1), re.DOTALL)
        label, target = explicit.groups() if explicit else (None, match.group(1))
        if not points_to_instructor(target):
            return match.group(0)
        return label or "the instructor's page (not in the student edition)"

    def ref_role(match):
        explicit = re.match(r"^(.*?)\s*<([^<>]+)>$", match.group(2), re.DOTALL)
        label, target = explicit.groups() if explicit else (None, match.group(2))
        if target.strip() not in labels:
            return match.group(0)
        return label or "the instructor's page (not in the student edition)"

    def md_link(match):
        return match.group(1) if points_to_instructor(match.group(2)) else match.group(0)

    text = re.sub(r"\{doc\}`([^`]+)`", doc_role, text)
    text = re.sub(r"\{(ref|numref)\}`([^`]+)`", ref_role, text)
    return re.sub(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)", md_link, text)


def _config_header(kind):
    return (f"# The student edition's {kind}, written by `make student`\n"
            "# (book/_assets/student.py) from the book's own; edit that one instead.\n")


def write_student_edition(root=ROOT, out=None):
    """Write the student edition of the book at ``root`` into ``out`` (``root/_student``).

    Returns the list of student notebooks written (paths relative to ``out``).
    """
    import nbformat
    import yaml

    root = Path(root).resolve()
    out = Path(out).resolve() if out else root / OUTPUT
    book = root / "book"
    for required in ("_config.yml", "_toc.yml", "book"):
        if not (root / required).exists():
            raise StudentBuildError(f"{root / required} is missing: is {root} the book's root?")
    vendor = book / "_assets" / "vendor"
    if not vendor.is_dir() or not any(vendor.iterdir()):
        raise StudentBuildError(
            f"{vendor.relative_to(root)} is missing: the book serves its own JavaScript; "
            "fetch it first with `make book-assets` (python book/_assets/fetch.py)")
    if out.exists() and not out.is_dir():
        raise StudentBuildError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise StudentBuildError(
            f"{out} exists and was not written by make student (no {MARKER} in it); "
            "move it away or delete it first")
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("Written by `make student` (book/_assets/student.py): "
                              "everything here except _build/ is rewritten on each run.\n")
    writer = _Writer(out)

    def load_yaml(name):
        try:
            return yaml.safe_load((root / name).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise StudentBuildError(f"cannot read {name}: {error}") from error

    toc = student_toc(load_yaml("_toc.yml"))
    config = student_config(load_yaml("_config.yml"))
    dump = dict(sort_keys=False, allow_unicode=True, default_flow_style=False, width=88)
    writer.text("_toc.yml", _config_header("table of contents") + yaml.safe_dump(toc, **dump))
    writer.text("_config.yml", _config_header("configuration") + yaml.safe_dump(config, **dump))
    for bib in config.get("bibtex_bibfiles", []):
        if not (root / bib).is_file():
            raise StudentBuildError(f"_config.yml names the bibliography {bib}, which is missing")
        writer.copy(bib, root / bib)
    # Chapter 6 finds benchmarks/results by walking up from the notebook's folder.
    results = root / "benchmarks" / "results"
    if results.is_dir():
        for path in sorted(results.glob("*.json")):
            writer.copy(path.relative_to(root), path)

    # Labels defined on the instructor's pages: references to them cannot resolve.
    labels = set()
    for instructor in INSTRUCTOR_PAGES:
        for suffix in (".md", ".ipynb"):
            if (root / (instructor + suffix)).is_file():
                labels |= set(re.findall(r"^\s*\(([^()\s]+)\)=\s*$",
                                         (root / (instructor + suffix)).read_text(
                                             encoding="utf-8"), re.MULTILINE))

    notebooks = []
    for path in sorted(book.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or SKIP_NAMES & set(relative.parts) \
                or relative.as_posix() in SKIP_FILES or path.name.startswith(".student"):
            continue
        page = relative.with_suffix("").as_posix()
        if page in INSTRUCTOR_PAGES and path.suffix in (".md", ".ipynb"):
            continue
        if path.suffix == ".ipynb":
            name = relative.as_posix()
            try:
                notebook = nbformat.read(path, as_version=4)
            except Exception as error:  # nbformat raises several kinds
                raise StudentBuildError(f"{name}: cannot read the notebook: {error}") from error
            student, counts = strip_notebook(notebook, name=name)
            for cell in student.cells:
                if cell.cell_type == "markdown":
                    cell.source = _unlink_instructor_pages(cell.source, name, labels)
            before, after = exercise_labels(notebook), exercise_labels(student)
            if before != after:
                raise StudentBuildError(
                    f"{name}: the exercises changed in the student copy: {before} -> {after}")
            try:
                nbformat.validate(student)
            except nbformat.ValidationError as error:
                raise StudentBuildError(f"{name}: the student copy is not valid nbformat: "
                                        f"{error.message}") from error
            writer.text(relative, nbformat.writes(student) + "\n")
            notebooks.append(relative)
            print(f"  {name}: {len(after)} exercises, {counts['starter_cells']} starter "
                  f"cells; removed {counts['solution_cells']} solution cells"
                  + (f" and {counts['solution_text_blocks']} untagged solution blocks"
                     if counts["solution_text_blocks"] else ""))
        elif path.suffix == ".md":
            text = path.read_text(encoding="utf-8")
            writer.text(relative, _unlink_instructor_pages(text, relative.as_posix(), labels))
        else:
            writer.copy(relative, path)
    removed = writer.remove_stale()
    print(f"Wrote the student edition into {out} ({len(notebooks)} notebooks; "
          f"{writer.changed} files changed, {removed} stale files removed)")
    return notebooks


def build(out, extra_args=()):
    """Build ``out`` with jupyter-book in fast mode; fail on any warning. Returns seconds."""
    env = dict(os.environ, STEGUTILS_FAST="1")
    # jupyter-book has no `python -m jupyter_book`: call its entry point with this
    # interpreter, so that the build and the notebooks' kernels use this environment.
    command = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
               "build", str(out), "--warningiserror", "--keep-going", *extra_args]
    print("Building the student edition in fast mode (STEGUTILS_FAST=1): "
          + " ".join(["jupyter-book", *command[3:]]), flush=True)
    html = out / "_build" / "html"
    shutil.rmtree(html / "reports", ignore_errors=True)  # a past build's failure reports
    start = time.monotonic()
    result = subprocess.run(command, env=env, check=False)
    seconds = time.monotonic() - start
    if result.returncode != 0:
        raise StudentBuildError(
            f"jupyter-book could not build the student edition (status {result.returncode}, "
            f"after {seconds:.0f} s): see the warnings above. A chapter that fails to run "
            "without its solutions leaves its traceback in the file named there.")
    # The same check as make book's: no failed notebook, no error output on any page.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import check_build

    found = check_build.problems(html)
    if found:
        raise StudentBuildError("the student edition built, but " + "; ".join(found))
    print(f"Built the student edition in {seconds:.0f} s: {out / '_build' / 'html'}")
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Write the student edition of the book (solutions removed) and "
                    "optionally build it; options it does not know go to jupyter-book build.")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the book's root folder (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"where to write it (default: ROOT/{OUTPUT})")
    parser.add_argument("--build", action="store_true",
                        help="build the rendered student book into OUT/_build/html")
    args, extra = parser.parse_known_args(argv)
    if extra and not args.build:
        parser.error(f"unknown arguments {extra} (jupyter-book options need --build)")
    out = (args.out or args.root / OUTPUT).resolve()
    try:
        write_student_edition(args.root, out)
        if args.build:
            build(out, extra)
    except StudentBuildError as error:
        print(f"student edition: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
