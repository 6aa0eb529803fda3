"""The book builds as a reader builds it (full mode, the built-in photos), cleanly, every
cell runs, and its pages load nothing from outside.

The build goes into a temporary folder (``jupyter-book build --path-output``), with its
own execution cache, so it neither reads nor disturbs the ``_build`` of ``make book``.
"""

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from scripts import load_script

ROOT = Path(__file__).resolve().parents[1]

# The full build executes every chapter for real, in the background from the start of
# the session (tests/conftest.py): whichever test comes first waits for the rest of it,
# longer than the suite's per-test limit allows.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

# Sphinx warnings look like "path:line: WARNING: message [type]" or "WARNING: message";
# other tools' log lines ("[IPKernelApp] WARNING | ...") are not Sphinx warnings.
SPHINX_WARNING = re.compile(r"(?:^|: )(?:WARNING|ERROR|CRITICAL): ")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
MISSING_REFERENCE = re.compile(
    "|".join([
        r"undefined label",
        r"unknown document",
        r"reference target not found",
        r"could not find bibtex key",
        r"citation not found",
        r"term not in glossary",
        r"nonexisting document",
        r"unknown target",
        r"failed to create a cross reference",
        r"not found: ",
        r"image file not readable",
        r"\[(?:ref|myst)\.",
    ]),
    re.IGNORECASE,
)
# Inline <script> bodies that are data, not code: widget state and views.
DATA_SCRIPT_TYPES = {
    "application/vnd.jupyter.widget-state+json",
    "application/vnd.jupyter.widget-view+json",
    "application/json",
    "text/x-thebe-config",
}


# The build itself is the session fixture ``built_book`` in tests/conftest.py, shared
# with the browser test so that the book is built once.


def _warnings(log):
    return [line.strip() for line in log.splitlines() if SPHINX_WARNING.search(line)]


def _tail(log, lines=60):
    return "\n".join(log.splitlines()[-lines:])


def test_book_builds(built_book):
    returncode, html, log = built_book
    assert returncode == 0, f"jupyter-book build failed (status {returncode}):\n{_tail(log)}"
    assert (html / "book" / "intro.html").is_file(), f"no book/intro.html in {html}"
    assert (html / "index.html").is_file(), "no index.html (the redirect to the intro)"


def test_book_build_has_no_missing_references(built_book):
    _, _, log = built_book
    missing = [warning for warning in _warnings(log) if MISSING_REFERENCE.search(warning)]
    assert not missing, "the build reports missing references:\n" + "\n".join(missing)


def test_book_build_has_no_warnings(built_book):
    # Covers what the reference check does not: a notebook that fails to execute in
    # the book, a malformed directive, a bad _toc.yml entry.
    _, _, log = built_book
    warnings = _warnings(log)
    details = []
    for warning in warnings:
        # myst-nb saves a failed notebook's traceback to a file; show its end here.
        saved = re.search(r"traceback saved in: (\S+)", warning)
        if saved and Path(saved.group(1)).is_file():
            traceback = Path(saved.group(1)).read_text(errors="replace")
            details.append(_tail(ANSI_ESCAPE.sub("", traceback), 25))
    assert not warnings, (
        f"the build printed {len(warnings)} warning(s):\n" + "\n".join(warnings + details)
    )


class _AssetCollector(HTMLParser):
    """Collect what a page loads: script sources, stylesheets, inline script bodies."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.loads = []  # (tag, url)
        self.inline_scripts = []  # (type, body)
        self._script_type = None
        self._script_body = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            if attrs.get("src"):
                self.loads.append(("script", attrs["src"]))
            else:
                self._script_type = attrs.get("type") or "text/javascript"
                self._script_body = []
        elif tag == "link":
            rel = set((attrs.get("rel") or "").lower().split())
            loading = {"stylesheet", "preload", "modulepreload", "icon", "manifest"}
            if rel & loading and attrs.get("href"):
                self.loads.append((f"link rel={'/'.join(sorted(rel))}", attrs["href"]))
        elif tag in {"img", "iframe", "embed", "source", "audio", "video"} and attrs.get("src"):
            self.loads.append((tag, attrs["src"]))

    def handle_data(self, data):
        if self._script_type is not None:
            self._script_body.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script_type is not None:
            self.inline_scripts.append((self._script_type, "".join(self._script_body)))
            self._script_type = None


def _is_external(url):
    parts = urlsplit(url)
    return bool(parts.netloc) or parts.scheme in {"http", "https", "ftp"}


def _pages(html):
    """The built pages (not the theme's Jinja templates that sit in _static)."""
    return sorted(page for page in html.rglob("*.html")
                  if not page.relative_to(html).parts[0].startswith("_"))


def _collect(page):
    collector = _AssetCollector()
    collector.feed(page.read_text(encoding="utf-8"))
    return collector


def test_pages_load_no_script_or_stylesheet_from_outside(built_book):
    _, html, _ = built_book
    pages = _pages(html)
    assert pages, f"no HTML pages in {html}"
    problems = []
    for page in pages:
        collector = _collect(page)
        name = page.relative_to(html)
        for tag, url in collector.loads:
            if _is_external(url):
                problems.append(f"{name}: <{tag}> loads {url}")
            elif not url.startswith(("data:", "#")):
                target = (page.parent / urlsplit(url).path).resolve()
                if not target.exists():
                    problems.append(f"{name}: <{tag}> points to {url}, which is not in the build")
        for script_type, body in collector.inline_scripts:
            if script_type in DATA_SCRIPT_TYPES:
                continue
            for url in re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s'\"]*", body):
                problems.append(f"{name}: an inline script refers to {url}")
    for stylesheet in sorted((html / "_static").rglob("*.css")):
        text = stylesheet.read_text(encoding="utf-8", errors="replace")
        for url in re.findall(r"(?:@import\s+|url\()\s*['\"]?((?:https?:)?//[^'\")\s]+)", text):
            problems.append(f"{stylesheet.relative_to(html)}: loads {url}")
    assert not problems, "the built book loads things from outside:\n" + "\n".join(problems)


def test_book_serves_mathjax_and_the_widget_scripts_itself(built_book):
    _, html, _ = built_book
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
    static = html / "_static"
    mathjax = config.get("mathjax_path")
    assert mathjax, "_config.yml sets no sphinx.config.mathjax_path: MathJax would come from a CDN"
    assert not _is_external(mathjax), f"mathjax_path should be a local file, not {mathjax}"
    assert (static / mathjax).is_file(), f"MathJax is not in the build at _static/{mathjax}"
    font_folder = static / Path(mathjax).parent / "output" / "chtml" / "fonts" / "woff-v2"
    fonts = list(font_folder.glob("*.woff"))
    assert fonts, "MathJax's CHTML fonts are not beside tex-chtml-full.js"
    scripts = {urlsplit(url).path for tag, url in _collect(html / "book" / "intro.html").loads
               if tag == "script"}
    assert any(path.endswith(f"_static/{mathjax}") for path in scripts), (
        f"book/intro.html has math but does not load _static/{mathjax}; it loads {sorted(scripts)}"
    )
    widget_js = config.get("nb_ipywidgets_js") or {}
    names = [Path(path).name for path in widget_js]
    assert "require.js" in names and "embed-amd.js" in names, (
        f"nb_ipywidgets_js should load require.js and embed-amd.js, it has {list(widget_js)}"
    )
    assert names.index("require.js") < names.index("embed-amd.js"), (
        "nb_ipywidgets_js must load require.js before embed-amd.js"
    )
    for path in widget_js:
        assert not _is_external(path), f"nb_ipywidgets_js should name local files, not {path}"
        assert (static / path).is_file(), f"the widget script {path} is not in the build"
    # Pages with saved widget state must load the local copies.
    for page in _pages(html):
        collector = _collect(page)
        if any(kind == "application/vnd.jupyter.widget-state+json"
               for kind, _ in collector.inline_scripts):
            loaded = {urlsplit(url).path for tag, url in collector.loads if tag == "script"}
            for path in widget_js:
                assert any(src.endswith(f"_static/{path}") for src in loaded), (
                    f"{page.relative_to(html)} has widgets but does not load _static/{path}"
                )


# ------------------------------------------------------------------- the reader's build


def _check_build():
    return load_script("book/_assets/check_build.py", "check_build")


def test_full_book_builds_with_the_builtin_photos_and_every_cell_runs(built_book_full):
    # What a reader without BSDS500 gets from `make book`: no failed notebook, no error
    # output outside cells tagged raises-exception (chapter 6 once failed here only).
    returncode, html, log = built_book_full
    assert returncode == 0, f"jupyter-book build failed (status {returncode}):\n{_tail(log)}"
    problems = _check_build().problems(html, log)
    assert not problems, "the full-mode build has failed cells:\n" + "\n".join(problems)
    # And it really ran on the built-in photos: the data chapter says so.
    data_page = (html / "book" / "02_data.html").read_text(encoding="utf-8")
    assert "builtin" in data_page or "built-in" in data_page


def test_full_book_build_has_no_warnings(built_book_full):
    _, _, log = built_book_full
    warnings = _warnings(log)
    assert not warnings, f"the full-mode build printed {len(warnings)} warning(s):\n" + \
        "\n".join(warnings)
