"""The chapters as a reader meets them in JupyterLab (``make lab``), in a real browser.

A JupyterLab server from this environment starts on a free port, with a token, in
temporary settings, runtime, data and workspace folders (so that nothing of the
machine's own Jupyter set-up comes in, and autosave is off), and serves a temporary copy
of the chapter: the book's notebook is never written. Headless Chromium, driven by
Selenium, then

- opens chapter 8 and checks that its MyST renders (the ``jupyterlab-myst`` extension of
  the ``[book]`` extra): the ``{note}`` is an admonition, not a code block showing
  "{note}", and the roles (``{doc}``, ``{cite:p}``, ``{cite:t}``) read as text;
- runs every cell of chapter 8 with a live kernel in fast mode (``STEGUTILS_FAST=1`` in
  the kernel's environment), checks that no cell failed and that TensorFlow printed
  nothing, then changes the playground's cover and applies an attack, as a reader does,
  and checks that the numbers it shows change.

Both tests skip, saying why, where Chromium, its driver, Selenium or JupyterLab is
missing.
"""

import html
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import start_chromium

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "08_playground.ipynb"
# Starting the server and the browser, then a whole chapter run in fast mode on a slow
# machine: generous, but finite.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

START_TIMEOUT = 180  # seconds for the server to answer, and for a notebook to open
RUN_TIMEOUT = 1200  # seconds for all the cells of chapter 8 in fast mode
ANSWER_TIMEOUT = 120  # seconds for the playground to answer a change
# What TensorFlow prints at start-up (see tests/test_quiet.py).
NOISE = re.compile(r"^(WARNING: All log messages before absl|[IWEF]\d{4} |.*cuInit|.*cuda)",
                   re.MULTILINE | re.IGNORECASE)
# Settings of a JupyterLab that only reads: no autosave (the notebook stays as it is,
# even the temporary copy), no news or update checks, and every cell in the page (not
# only those scrolled to), so that the browser can read them all.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of the chapter: (base URL, token)."""
    if importlib.util.find_spec("jupyterlab") is None:
        pytest.skip("JupyterLab is not installed (pip install -e '.[book]')")
    home = tmp_path_factory.mktemp("lab")
    notebooks = home / "notebooks"
    notebooks.mkdir()
    shutil.copy(ROOT / "book" / CHAPTER, notebooks / CHAPTER)
    settings = home / "settings"
    for plugin, values in LAB_SETTINGS.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = dict(os.environ, STEGUTILS_FAST="1", PYTHONUNBUFFERED="1")
    for name, folder in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                         ("JUPYTER_DATA_DIR", "data"), ("IPYTHONDIR", "ipython"),
                         ("JUPYTERLAB_WORKSPACES_DIR", "workspaces")):
        (home / folder).mkdir()
        env[name] = str(home / folder)
    env["JUPYTERLAB_SETTINGS_DIR"] = str(settings)
    env.pop("STEGUTILS_DEBUG", None)
    port, token = _free_port(), os.urandom(16).hex()
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={notebooks}",
               "--LabApp.expose_app_in_browser=True"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI run as root
    log_path = home / "server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  cwd=notebooks)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with status {server.returncode}:\n"
                            + log_path.read_text()[-3000:])
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer within {START_TIMEOUT} s:\n"
                                + log_path.read_text()[-3000:])
                time.sleep(0.5)
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        # The copy is the only notebook the server could write; the book's is untouched.


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_chromium(tmp_path_factory, needed_by="the JupyterLab tests need",
                            page_timeout=START_TIMEOUT)
    yield driver
    driver.quit()


def _wait(driver, script, what, timeout, *args):
    """Poll a script until it returns something true; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = driver.execute_script(script, *args)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.5)


def _open_chapter(driver, lab):
    base, token = lab
    driver.get(f"{base}/lab/tree/{CHAPTER}?token={token}")
    _wait(driver, """
        const app = window.jupyterapp;
        const panel = app && app.shell.currentWidget;
        return !!(panel && panel.content && panel.content.model && panel.sessionContext
                  && panel.sessionContext.isReady
                  && document.querySelectorAll('.jp-MarkdownCell').length > 0);
    """, f"JupyterLab to open {CHAPTER} with a kernel", START_TIMEOUT)


# The rendered part of each markdown cell (not its hidden editor), with or without MyST.
RENDERED = """
    return Array.from(document.querySelectorAll('.jp-MarkdownCell')).map(cell => {
        const parts = cell.querySelectorAll('.myst, .jp-RenderedMarkdown');
        return Array.from(parts).map(part => part.innerText).join('\\n');
    });
"""


def test_a_chapter_renders_its_myst_in_jupyterlab(browser, lab):
    assert importlib.util.find_spec("jupyterlab_myst") is not None, (
        "jupyterlab-myst is not installed: `make lab` would show MyST as plain markdown "
        "(pip install -e '.[book]')")
    _open_chapter(browser, lab)
    found = _wait(browser, """
        const cell = Array.from(document.querySelectorAll('.jp-MarkdownCell')).find(
            c => Array.from(c.querySelectorAll('.myst, .jp-RenderedMarkdown')).some(
                part => part.innerText.includes('In the rendered book')));
        if (!cell) return null;
        const admonition = cell.querySelector('aside[class*="admonition"], [class*="admonition-note"]');
        const blocks = Array.from(cell.querySelectorAll('.myst pre, .myst code, .jp-RenderedMarkdown pre'));
        return {
            admonition: admonition ? admonition.className : null,
            title: admonition ? admonition.innerText.split('\\n')[0] : null,
            inside: admonition ? admonition.innerText.includes('In the rendered book') : false,
            code: blocks.map(b => b.innerText).filter(t => t.includes('{note}') || t.includes('In the rendered book')),
        };
    """, "the markdown cell with the chapter's {note} to render", START_TIMEOUT)
    assert found["admonition"], "the {note} is not rendered as an admonition"
    assert "note" in found["admonition"].lower() and found["inside"], found
    assert found["title"].strip().lower() == "note", found
    assert not found["code"], f"the {{note}} shows as a code block: {found['code']}"

    # The roles read as text: no cell shows their markup.
    rendered = _wait(browser, RENDERED, "the markdown cells to render", START_TIMEOUT)
    text = "\n".join(rendered)
    for role in ("{doc}", "{term}", "{cite:p}", "{cite:t}", "{note}", "```"):
        assert role not in text, f"a rendered cell shows {role!r} as it is"
    overview = next(cell for cell in rendered if "Concepts" in cell)
    assert "glossary" in overview  # {doc}`glossary`


def _cells(driver):
    """Each code cell of the open notebook, from JupyterLab's model: execution count,
    outputs (as nbformat JSON) and whether it is still running."""
    return driver.execute_script("""
        const panel = window.jupyterapp.shell.currentWidget;
        const cells = [];
        const model = panel.content.model;
        for (let i = 0; i < model.cells.length; i++) {
            const cell = model.cells.get(i);
            if (cell.type !== 'code') continue;
            cells.push({index: i, count: cell.executionCount,
                        source: cell.sharedModel.getSource().slice(0, 80),
                        outputs: cell.outputs.toJSON()});
        }
        return {cells: cells, busy: panel.sessionContext.kernelDisplayStatus};
    """)


def _table(driver):
    """The playground's table as the reader sees it: {row label: [PSNR, SSIM, error]}."""
    rows = driver.execute_script("""
        const table = document.querySelector('.stegutils-playground .stegutils-metrics table');
        if (!table) return null;
        return Array.from(table.querySelectorAll('tr')).slice(1).map(
            tr => Array.from(tr.querySelectorAll('td')).map(td => td.innerText.trim()));
    """)
    return {row[0]: [float(value) for value in row[1:]] for row in rows or []}


# The text of the table's cells, to tell when the playground has answered.
CELLS_TEXT = ("return Array.from(document.querySelectorAll("
              "'.stegutils-playground .stegutils-metrics td')).map(td => td.innerText);")


def _choose(driver, name, text):
    """Pick an option of one of the playground's menus, as a reader does."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    select = driver.find_element(By.CSS_SELECTOR,
                                 f".stegutils-playground .stegutils-{name} select")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", select)
    menu = Select(select)
    if text is None:  # any option but the one chosen
        current = menu.first_selected_option.text
        text = next(option.text for option in menu.options if option.text != current)
    menu.select_by_visible_text(text)
    return text


def test_chapter_8_runs_in_jupyterlab_and_the_playground_answers(browser, lab):
    _open_chapter(browser, lab)
    browser.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells');")
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        state = _cells(browser)
        counts = [cell["count"] for cell in state["cells"]]
        errors = [cell for cell in state["cells"]
                  if any(out.get("output_type") == "error" for out in cell["outputs"])]
        if errors:
            out = next(o for o in errors[0]["outputs"] if o.get("output_type") == "error")
            pytest.fail(f"cell {errors[0]['index']} ({errors[0]['source']!r}...) failed: "
                        f"{out.get('ename')}: {out.get('evalue')}")
        if all(counts) and state["busy"] == "idle":
            break
        if time.monotonic() > deadline:
            pending = [cell["source"] for cell in state["cells"] if not cell["count"]]
            pytest.fail(f"chapter 8 did not finish within {RUN_TIMEOUT} s; not run yet: "
                        f"{pending[:3]}")
        time.sleep(2)
    stderr = "".join("".join(out.get("text", "")) for cell in state["cells"]
                     for out in cell["outputs"]
                     if out.get("output_type") == "stream" and out.get("name") == "stderr")
    assert not NOISE.search(stderr), f"TensorFlow printed into the chapter:\n{stderr[:2000]}"

    # The playground of the chapter, live: its table, then a new cover, then an attack.
    first = _wait(browser, "return document.querySelector("
                           "'.stegutils-playground .stegutils-metrics table') !== null",
                  "the playground to show its table", ANSWER_TIMEOUT) and _table(browser)
    assert any(label.startswith("revealed") for label in first), first
    before = browser.execute_script(CELLS_TEXT)
    cover = _choose(browser, "cover", None)
    _wait(browser, "return JSON.stringify(arguments[0]) !== JSON.stringify((() => {"
                   + CELLS_TEXT + "})())",
          f"the numbers to change for the cover {cover!r}", ANSWER_TIMEOUT, before)
    second = _table(browser)
    # A new cover: a new container, so new figures for both rows.
    assert second["container vs cover"] != first["container vs cover"], (first, second)
    messages = browser.execute_script(
        "return document.querySelector('.stegutils-playground').innerText")
    assert "Error:" not in messages

    _choose(browser, "attack", "JPEG")
    _wait(browser, """return Array.from(document.querySelectorAll(
                          '.stegutils-playground .stegutils-metrics caption'))
                      .some(c => c.innerText.includes('JPEG quality'))""",
          "the table to show the JPEG attack", ANSWER_TIMEOUT)
    third = _table(browser)
    secret = next(label for label in third if label.startswith("revealed"))
    floor = next(label for label in third if label.startswith("floor"))
    assert third[secret] != second[secret], (second, third)
    assert third["container vs cover"] == second["container vs cover"]  # same container
    explanation = html.unescape(browser.execute_script(
        "return document.querySelector('.stegutils-playground .stegutils-explanation')"
        ".innerText"))
    # What the widget says matches what it shows: near the floor means a note.
    from stegutils import widgets

    if third[secret][0] < third[floor][0] + widgets.FLOOR_MARGIN_DB:
        assert "The secret is gone" in explanation
