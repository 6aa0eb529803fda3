"""Fail a book build in which any notebook failed to execute.

Jupyter Book 1 reports a notebook that raised as a warning ("Executing notebook
failed"), writes the traceback to ``reports/<page>.err.log`` beside the HTML, renders
the page without the outputs of the cells after the failure, and still exits 0. This
script is the check that the Makefile (``make book``, ``make student``) and the tests run
after every build. It fails when

1. the build folder holds a ``reports/*.err.log`` (a notebook that did not execute);
2. a rendered page shows an error output (a traceback) in a cell that is not tagged
   ``raises-exception``, the one tag under which a chapter may show an error on purpose;
3. a build log given with ``--log`` says that executing a notebook failed.

Usage::

    python book/_assets/check_build.py _build/html [--log build.log]

Prints one line per problem and exits 1 if there is any, else prints a one-line summary.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys
from html.parser import HTMLParser

# Error outputs as myst-nb renders them: a block with the "traceback" class (and the
# ipythontb lexer's highlighting).
ERROR_CLASSES = {"traceback", "highlight-ipythontb"}
ALLOWED_TAG = "tag_raises-exception"
FAILED_LOG = re.compile(r"Executing notebook failed|CellExecutionError|Notebook exception")


class _ErrorOutputs(HTMLParser):
    """Counts error outputs on a page, outside cells tagged raises-exception."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
            "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # per open element: inside an allowed cell?
        self.errors = 0
        self.allowed = 0

    def handle_starttag(self, tag, attrs):
        classes = set((dict(attrs).get("class") or "").split())
        inside = bool(self.stack and self.stack[-1]) or ALLOWED_TAG in classes
        if classes & ERROR_CLASSES:
            if inside:
                self.allowed += 1
            else:
                self.errors += 1
        if tag not in self.VOID:
            self.stack.append(inside)

    def handle_startendtag(self, tag, attrs):
        # Self-closing: counts like a start tag but opens nothing.
        classes = set((dict(attrs).get("class") or "").split())
        if classes & ERROR_CLASSES and not (self.stack and self.stack[-1]):
            self.errors += 1

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()


def page_errors(html_text: str) -> tuple[int, int]:
    """``(errors outside raises-exception cells, errors inside them)`` of one page."""
    parser = _ErrorOutputs()
    parser.feed(html_text)
    parser.close()
    return parser.errors, parser.allowed


def problems(html_dir, log_text: str | None = None) -> list[str]:
    """Every reason to fail the build in ``html_dir`` (and its log), one line each."""
    html_dir = pathlib.Path(html_dir)
    found = []
    if not html_dir.is_dir():
        return [f"{html_dir}: no such folder (did the build run?)"]
    for report in sorted(html_dir.rglob("*.err.log")):
        found.append(f"{report.relative_to(html_dir)}: a notebook failed to execute "
                     f"(its traceback is in this file)")
    pages = [p for p in sorted(html_dir.rglob("*.html")) if "_static" not in p.parts]
    for page in pages:
        errors, _ = page_errors(page.read_text(encoding="utf-8", errors="replace"))
        if errors:
            found.append(f"{page.relative_to(html_dir)}: {errors} error output(s) outside "
                         f"cells tagged raises-exception")
    if log_text:
        for line in re.sub(r"\x1b\[[0-9;]*m", "", log_text).splitlines():
            if FAILED_LOG.search(line):
                found.append(f"build log: {line.strip()}")
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html_dir", help="the built HTML folder, e.g. _build/html")
    parser.add_argument("--log", help="the build's log, to read for execution failures")
    args = parser.parse_args(argv)
    log_text = None
    if args.log:
        log_path = pathlib.Path(args.log)
        log_text = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else None
    found = problems(args.html_dir, log_text)
    for line in found:
        print(f"check_build: {line}", file=sys.stderr)
    if found:
        print(f"check_build: the build in {args.html_dir} has {len(found)} problem(s): "
              "a chapter did not run to the end", file=sys.stderr)
        return 1
    pages = [p for p in pathlib.Path(args.html_dir).rglob("*.html") if "_static" not in p.parts]
    print(f"check_build: {len(pages)} pages, every notebook executed, no error output "
          "outside raises-exception cells")
    return 0


if __name__ == "__main__":
    sys.exit(main())
