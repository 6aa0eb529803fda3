"""The built chapters work in a real browser, offline.

Headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by Selenium)
opens the book's landing page and every chapter of the full-mode build, served over
HTTP from the build folder. On each page: no console errors, no request to anything
outside the book, the math typeset by MathJax (``mjx-container`` elements), and every
image loaded (``naturalWidth > 0``), with at least one image on each chapter.

The build comes from the session's ``built_book`` fixture (tests/conftest.py). The
tests skip, saying why, when Chromium, its driver or Selenium is missing (``.ci/run``
installs them with apt).
"""

import functools
import http.server
import json
import threading
import time
from pathlib import Path

import pytest
import yaml

from conftest import start_chromium

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]  # the first test may wait for the build

PAGE_TIMEOUT = 60  # seconds for a page, its math and its images
# Console errors that come from the browser or the theme, not from the book's pages:
NOT_THE_PAGES = (
    # The browser asks every site for /favicon.ico by itself; the book has none.
    "/favicon.ico",
    # pydata-sphinx-theme, on a first visit (no saved light/dark choice), logs this
    # as an error and uses "auto"; setting html_theme_options.default_mode avoids it.
    "Got invalid theme mode",
)


def _chapter_files():
    """The numbered chapters of _toc.yml, in reading order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    chapters = []
    for part in toc.get("parts", []):
        if part.get("numbered"):
            chapters += [entry["file"] for entry in part.get("chapters", [])]
    return chapters


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def book_server(built_book):
    """Serve the built HTML over HTTP (MathJax's fonts do not load from file:// pages)."""
    returncode, html, log = built_book
    if returncode != 0 or not (html / "index.html").is_file():
        pytest.fail(f"the book did not build (status {returncode}); see test_book_build.py\n"
                    + "\n".join(log.splitlines()[-30:]))
    handler = functools.partial(_QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_chromium(tmp_path_factory, needed_by="the browser test needs",
                            page_timeout=PAGE_TIMEOUT,
                            capabilities={"goog:loggingPrefs": {"browser": "ALL",
                                                                "performance": "ALL"}})
    driver.get("about:blank")
    time.sleep(1)  # let the browser's own start-up requests finish before we listen
    yield driver
    driver.quit()


def _wait(driver, script, what, timeout=PAGE_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.execute_script(script):
            return True
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _open(driver, url):
    """Load a page and let it settle: scripts, math, then every image scrolled to."""
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get_log("performance")
    driver.get(url)
    _wait(driver, "return document.readyState === 'complete'", f"{url} to load")
    _wait(driver, "return document.querySelectorAll('.math').length === 0 || "
                  "document.querySelectorAll('mjx-container').length > 0",
          f"MathJax to typeset {url}")
    # Images below the fold may load lazily: bring each into view, then wait for all.
    driver.execute_script("for (const img of document.images) img.scrollIntoView();")
    _wait(driver, "return Array.from(document.images).every(img => img.complete)",
          f"the images of {url} to load")


def _requests(driver):
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _pages():
    return ["book/intro"] + _chapter_files()


@pytest.mark.parametrize("page", _pages())
def test_page_loads_offline_with_math_and_images(page, browser, book_server):
    url = f"{book_server}{page}.html"
    _open(browser, url)
    problems = []

    errors = [entry["message"] for entry in browser.get_log("browser")
              if entry["level"] == "SEVERE"
              and not any(known in entry["message"] for known in NOT_THE_PAGES)]
    problems += [f"console error: {message}" for message in errors]

    # Anything fetched over the network must come from the book's own server.
    network = ("http:", "https:", "ws:", "wss:", "ftp:", "//")
    outside = [u for u in _requests(browser)
               if u.startswith(network) and not u.startswith(book_server)]
    problems += [f"request outside the book: {u}" for u in outside]

    math = browser.execute_script("return document.querySelectorAll('.math').length")
    typeset = browser.execute_script("return document.querySelectorAll('mjx-container').length")
    if math and not typeset:
        problems.append(f"{math} math elements but no mjx-container: MathJax did not typeset")

    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.currentSrc || i.src, i.naturalWidth])")
    broken = [src for src, width in images if not width]
    problems += [f"image did not load: {src[:120]}" for src in broken]
    if not images:
        problems.append("no images on the page")

    assert not problems, f"{page}:\n" + "\n".join(problems)
