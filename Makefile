# Deep Steganography, Hands-On: the one place commands live.
#
#   make test        install .[dev] into .venv and run the tests (PYTEST_ARGS="-m 'not slow'")
#   make book        execute the chapters and build the book into _build/html
#   make book-fast   the same with STEGUTILS_FAST=1 (a few steps, small images)
#   make student     the student edition (no solutions) into _student/, built in fast mode
#   make lab         open the chapters in JupyterLab, with their MyST rendered
#   make clean       remove build outputs and caches (keeps .venv)
#   make distclean   clean, and remove .venv and the fetched JavaScript too
#
# Everything runs in the project's virtual environment, .venv, made on first use.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
JUPYTER_BOOK := $(VENV)/bin/jupyter-book
PYTEST_ARGS ?=
# Extra options for `jupyter-book build`, e.g. BOOK_ARGS=--all to re-read every page.
BOOK_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help test book book-fast book-assets student lab clean distclean

help:
	@sed -n 's/^#   //p' $(MAKEFILE_LIST)

$(VENV):
	$(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install --upgrade pip

# One stamp per extra: reinstalls whenever pyproject.toml changes.
$(VENV)/.installed-%: pyproject.toml | $(VENV)
	$(VENV_PY) -m pip install -e ".[$*]"
	@touch $@

test: $(VENV)/.installed-dev
	$(VENV_PY) -m pytest $(PYTEST_ARGS)

# MathJax, require.js and the widget manager, served by the book itself (see
# book/_assets/manifest.json); quick when they are already there.
book-assets: | $(VENV)
	$(VENV_PY) book/_assets/fetch.py

# Jupyter Book reports a chapter that failed to execute only as a warning and exits 0;
# book/_assets/check_build.py then fails the target (a failure report, an error output
# outside a cell tagged raises-exception, or "Executing notebook failed" in the log).
# Jupyter's cache and Sphinx's saved pages do not know about STEGUTILS_FAST, so each
# mode keeps its own execution cache (_build/.jupyter_cache while in use,
# _build/.jupyter_cache-<mode> while the other mode builds), and a change of mode
# re-reads every page.
book: $(VENV)/.installed-book book-assets
	@set -e; \
	case "$$(printf '%s' "$${STEGUTILS_FAST:-}" | tr 'A-Z' 'a-z' | sed 's/^[[:space:]]*//; s/[[:space:]]*$$//')" in \
	  ""|0|false|no|off) mode=full ;; \
	  *) mode=fast ;; \
	esac; \
	last=$$(cat _build/.book-mode 2>/dev/null || echo none); \
	args="$(BOOK_ARGS)"; \
	if [ "$$mode" != "$$last" ]; then \
	  mkdir -p _build; \
	  if [ "$$last" != none ] && [ -d _build/.jupyter_cache ]; then \
	    rm -rf "_build/.jupyter_cache-$$last"; \
	    mv _build/.jupyter_cache "_build/.jupyter_cache-$$last"; \
	  fi; \
	  if [ -d "_build/.jupyter_cache-$$mode" ]; then \
	    rm -rf _build/.jupyter_cache; \
	    mv "_build/.jupyter_cache-$$mode" _build/.jupyter_cache; \
	  fi; \
	  echo "$$mode" > _build/.book-mode; \
	  args="--all $$args"; \
	fi; \
	echo "Building the book in $$mode mode"; \
	mkdir -p _build; rm -rf _build/html/reports; \
	set -o pipefail; \
	$(JUPYTER_BOOK) build . $$args 2>&1 | tee _build/build.log; \
	$(VENV_PY) book/_assets/check_build.py _build/html --log _build/build.log

book-fast:
	$(MAKE) book STEGUTILS_FAST=1

# jupyterlab-myst (in the [book] extra) renders the chapters' MyST in JupyterLab:
# admonitions such as {note} as boxes, roles such as {doc} and {cite:p} as readable
# text (tests/test_lab.py checks both). Without it the chapters open as plain markdown.
lab: $(VENV)/.installed-book
	@$(VENV)/bin/jupyter labextension list 2>&1 | grep -q jupyterlab-myst || \
	  echo "make lab: jupyterlab-myst is missing from $(VENV) (pip install -e '.[book]'):" \
	       "the chapters' MyST will show as plain markdown"
	$(VENV)/bin/jupyter lab book/

# The student edition: a copy of the book's sources in _student/ whose notebooks have
# lost their cells tagged `solution` and their outputs (book/_assets/student.py says
# exactly what changes), built into _student/_build/html. It always builds in fast
# mode, executing every chapter, and fails on any warning: so it also shows that each
# chapter runs end to end without its solutions. It keeps its own execution cache
# (_student/_build/.jupyter_cache), apart from make book's; BOOK_ARGS go to jupyter-book.
student: $(VENV)/.installed-book book-assets
	$(VENV_PY) book/_assets/student.py --build $(BOOK_ARGS)

clean:
	rm -rf _build _student book/_build .pytest_cache .ipynb_checkpoints build dist
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name '*.egg-info' \
	  -o -name .ipynb_checkpoints \) -type d -prune -print0 | xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV) book/_assets/vendor
