"""Every {term} role in the book names an entry of book/glossary.md (without building it)."""

import re
from pathlib import Path

import nbformat

BOOK = Path(__file__).resolve().parents[1] / "book"
TERM_ROLE = re.compile(r"\{term\}`([^`]+)`")


def _glossary_terms():
    text = (BOOK / "glossary.md").read_text(encoding="utf-8")
    body = re.search(r"^```\{glossary\}\n(.*?)^```", text, re.MULTILINE | re.DOTALL).group(1)
    # A term is an unindented line; its definition is indented below it. Several term
    # lines in a row share one definition.
    return {line.strip().lower() for line in body.splitlines()
            if line.strip() and not line[0].isspace() and not line.startswith(":")}


def _pages():
    for path in sorted(BOOK.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        yield path.name, "\n".join(cell.source for cell in notebook.cells
                                   if cell.cell_type == "markdown")
    for path in sorted(BOOK.glob("*.md")):
        yield path.name, path.read_text(encoding="utf-8")


def _target(role_text):
    explicit = re.match(r"^.*<([^<>]+)>\s*$", role_text, re.DOTALL)
    return (explicit.group(1) if explicit else role_text).strip().lower()


def test_the_glossary_has_the_terms_of_the_paper_and_the_book():
    terms = _glossary_terms()
    for term in ("cover", "secret", "container", "beta", "psnr", "mean pixel error",
                 "held-out set", "validation set", "straight-through estimator",
                 "space-to-depth", "steganalysis", "dilated backprop", "model card",
                 "fast mode"):
        assert term in terms, term


def test_every_term_role_has_a_glossary_entry():
    terms = _glossary_terms()
    missing = sorted({(name, _target(match)) for name, text in _pages()
                      for match in TERM_ROLE.findall(text) if _target(match) not in terms})
    assert not missing, "terms used but not in book/glossary.md: " + ", ".join(
        f"{term!r} ({name})" for name, term in missing)
