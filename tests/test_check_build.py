"""book/_assets/check_build.py: a build with a failed notebook fails the target."""

import subprocess
import sys
from pathlib import Path

import pytest

from scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "book" / "_assets" / "check_build.py"


def _module():
    return load_script(SCRIPT.relative_to(ROOT), "check_build")


# As myst-nb renders a code cell and its error output.
ERROR_CELL = ('<div class="cell docutils container{tags}"><div class="cell_input"></div>'
              '<div class="cell_output docutils container">'
              '<div class="output traceback highlight-ipythontb notranslate">'
              '<div class="highlight"><pre>AssertionError</pre></div></div></div></div>')
GOOD_CELL = ('<div class="cell docutils container"><div class="cell_output docutils container">'
             '<div class="output stream highlight-myst-ansi notranslate"><pre>ok</pre>'
             '</div></div></div>')


def _page(folder, name, body):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<html><body><main>{body}</main></body></html>")
    return path


def test_a_clean_build_passes(tmp_path):
    _page(tmp_path, "book/a.html", GOOD_CELL)
    _page(tmp_path, "book/b.html", ERROR_CELL.format(tags=" tag_raises-exception"))
    assert _module().problems(tmp_path) == []
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 0 and "2 pages" in done.stdout


def test_an_error_output_outside_raises_exception_fails(tmp_path):
    _page(tmp_path, "book/a.html", GOOD_CELL + ERROR_CELL.format(tags=""))
    found = _module().problems(tmp_path)
    assert found == ["book/a.html: 1 error output(s) outside cells tagged raises-exception"]
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 1 and "a chapter did not run to the end" in done.stderr


def test_a_failure_report_or_a_failed_execution_in_the_log_fails(tmp_path):
    _page(tmp_path, "book/a.html", GOOD_CELL)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "book" ).mkdir()
    (tmp_path / "reports" / "book" / "06_backprop.err.log").write_text("Traceback")
    found = _module().problems(tmp_path)
    assert len(found) == 1 and "06_backprop.err.log" in found[0]
    (tmp_path / "reports" / "book" / "06_backprop.err.log").unlink()
    log = "book/06_backprop.ipynb: WARNING: Executing notebook failed: CellExecutionError"
    found = _module().problems(tmp_path, log)
    assert len(found) == 1 and found[0].startswith("build log:")


def test_a_missing_build_folder_is_a_problem(tmp_path):
    assert "no such folder" in _module().problems(tmp_path / "nothing")[0]


def _notebook(title, cells):
    return {"cells": [{"cell_type": "markdown", "id": "title", "metadata": {},
                       "source": f"# {title}"}]
            + [{"cell_type": "code", "id": f"c{i}", "metadata": {"tags": tags} if tags else {},
                "outputs": [], "execution_count": None, "source": source}
               for i, (source, tags) in enumerate(cells)],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                        "name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


@pytest.mark.slow
def test_a_real_jupyter_book_build_with_a_failing_cell_is_caught(tmp_path):
    # The real myst-nb rendering: an error on purpose (raises-exception) passes, an
    # assertion that fails is caught three ways.
    import json

    (tmp_path / "_config.yml").write_text(
        "title: tiny\nexecute:\n  execute_notebooks: force\n  allow_errors: false\n")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n  - file: good\n  - file: bad\n")
    (tmp_path / "intro.md").write_text("# Intro\n")
    (tmp_path / "good.ipynb").write_text(json.dumps(_notebook("Good", [
        ("print('ok')", None), ("raise ValueError('on purpose')", ["raises-exception"])])))
    (tmp_path / "bad.ipynb").write_text(json.dumps(_notebook("Bad", [
        ("print('before')", None), ("assert 1 == 2", None), ("print('after')", None)])))
    build = subprocess.run(
        [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build",
         str(tmp_path)], capture_output=True, text=True, cwd=tmp_path)
    assert build.returncode == 0  # Jupyter Book itself only warns
    html = tmp_path / "_build" / "html"
    found = _module().problems(html, build.stdout + build.stderr)
    assert any("bad.err.log" in line for line in found), found
    assert any(line.startswith("bad.html: 1 error output") for line in found), found
    assert any("Executing notebook failed" in line for line in found), found
    assert not any(line.startswith("good.html") for line in found), found
