"""Fixtures shared by the test modules: tiny photos and a tiny trained run."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

TINY_FAST = {"width": 8, "prep_depth": 1, "hide_depth": 2, "reveal_depth": 2,
             "reveal_width": 8}


def smooth_photos(count, *, height=40, width=48, seed=0):
    """Smooth random colour images (upsampled noise): cheap stand-ins for photos."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    photos = []
    for _ in range(count):
        small = (rng.random((6, 6, 3)) * 255).astype(np.uint8)
        big = Image.fromarray(small).resize((width, height), Image.BICUBIC)
        photos.append(np.asarray(big, np.float32) / 255)
    return photos


@pytest.fixture(scope="session")
def photo_folder(tmp_path_factory):
    """A folder of eight small PNG photos."""
    from stegutils import data

    folder = tmp_path_factory.mktemp("photos")
    for index, photo in enumerate(smooth_photos(8, seed=1)):
        data.save_image(folder / f"photo{index}.png", photo)
    return folder


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, photo_folder):
    """A run folder of a tiny `fast` model trained for a few steps on photo_folder."""
    from stegutils import train

    run_dir = tmp_path_factory.mktemp("run") / "tiny"
    config = train.Config(variant="fast", variant_options=TINY_FAST, size=16, batch_size=4,
                          steps=6, seed=3, precision="float32", data=str(photo_folder),
                          val_photos=2, log_every=3, eval_every=3, checkpoint_every=3)
    train.Trainer(config, run_dir).fit(progress=False)
    return run_dir


#: The fixtures that hold a build of the whole book; a test that uses one waits for it.
BOOK_FIXTURES = ("built_book", "built_book_full")


class BookBuild:
    """``jupyter-book build`` of the whole book in full mode, running in the background.

    Started as soon as the tests are collected (:func:`pytest_collection_finish`) when a
    selected test needs the book, so that the build, which spends much of its time in
    one core (kernels starting, TensorFlow importing, Sphinx reading and writing), runs
    beside the other tests instead of before them; :meth:`result` waits for it. The
    build goes into a temporary folder with its own execution cache
    (``--path-output``), so it neither reads nor disturbs ``make book``'s ``_build``.
    """

    def __init__(self, output, *, env_changes=None):
        import subprocess
        import sys
        from pathlib import Path

        root = Path(__file__).resolve().parents[1]
        # The pinned JavaScript first, once, before any build reads it.
        fetch = subprocess.run([sys.executable, str(root / "book" / "_assets" / "fetch.py")],
                               cwd=root, capture_output=True, text=True, timeout=600,
                               check=False)
        self.fetch_error = (None if fetch.returncode == 0 else
                            f"fetching the book's JavaScript failed:\n{fetch.stdout}{fetch.stderr}")
        self.output = Path(output)
        self.output.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", NO_COLOR="1")
        env.pop("STEGUTILS_FAST", None)  # full mode: fast mode is the student test's
        for name, value in (env_changes or {}).items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        # jupyter-book has no `python -m jupyter_book`: call its entry point with this
        # interpreter, so that the build and the notebooks' kernels use this environment.
        command = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
                   "build", str(root), "--path-output", str(self.output), "--keep-going"]
        self._log_file = open(self.output / "build.log", "w+", encoding="utf-8")
        self.process = None
        if self.fetch_error is None:
            self.process = subprocess.Popen(command, cwd=root, env=env, stdout=self._log_file,
                                            stderr=subprocess.STDOUT, text=True,
                                            start_new_session=True)
        self._result = None

    def result(self):
        """(exit status, HTML folder, log), waiting for the build to end."""
        import re

        if self._result is None:
            assert self.fetch_error is None, self.fetch_error
            returncode = self.process.wait()
            self._log_file.seek(0)
            log = re.sub(r"\x1b\[[0-9;]*m", "", self._log_file.read())
            self._log_file.close()
            # The notebooks' kernels share the build's stderr, and TensorFlow's C++
            # logging (absl) writes lines there at import that no setting silences, one
            # of them starting "WARNING: "; they are not Sphinx's, so they are left out.
            kernel_noise = re.compile(
                r"^(WARNING: All log messages before absl::InitializeLog\(\)"
                r"|[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\] )")
            log = "\n".join(line for line in log.splitlines() if not kernel_noise.match(line))
            self._result = (returncode, self.output / "_build" / "html", log)
        return self._result

    def stop(self):
        """End a build still running (the session is over or was interrupted)."""
        import signal

        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=30)
            except (ProcessLookupError, PermissionError):
                pass
            except Exception:  # noqa: BLE001 - still running after 30 s: kill it
                os.killpg(self.process.pid, signal.SIGKILL)
        if not self._log_file.closed:
            self._log_file.close()


_BOOK_BUILDS = {}


def _uses_book(item):
    return any(name in getattr(item, "fixturenames", ()) for name in BOOK_FIXTURES)


def pytest_collection_modifyitems(session, config, items):
    """The tests that need the built book go last (in their order), so that the build
    runs in the background while every other test runs."""
    late = [item for item in items if _uses_book(item)]
    if late and len(late) < len(items):
        items[:] = [item for item in items if not _uses_book(item)] + late


def _start_full_build(config):
    factory = config._tmp_path_factory  # the session's tmp_path_factory
    cache = factory.mktemp("empty-cache")
    _BOOK_BUILDS["full"] = BookBuild(
        factory.mktemp("book-full"),
        env_changes={"STEGUTILS_DATA": None, "STEGUTILS_CACHE": str(cache)})


def pytest_collection_finish(session):
    """Start the reader's build of the book if a selected test needs it."""
    if session.config.option.collectonly or not any(_uses_book(i) for i in session.items):
        return
    _start_full_build(session.config)


def pytest_sessionfinish(session, exitstatus):
    for build in _BOOK_BUILDS.values():
        build.stop()


@pytest.fixture(scope="session")
def built_book_full(request):
    """The book as a reader without the data set builds it: full mode, no
    ``STEGUTILS_DATA`` and an empty cache, so every chapter falls back to the built-in
    photos (after a download that fails without a network). Started in the background
    when the tests were collected; (exit status, HTML folder, log)."""
    if "full" not in _BOOK_BUILDS:
        _start_full_build(request.config)
    return _BOOK_BUILDS["full"].result()


@pytest.fixture(scope="session")
def built_book(built_book_full):
    """The book's one build per test session, shared by the build, link and browser
    tests: the reader's build (:func:`built_book_full`). Fast mode, with BSDS500 where
    ``STEGUTILS_DATA`` points to it, is built by the student edition's test
    (tests/test_student.py), so each mode runs every chapter once."""
    return built_book_full


# ------------------------------------------------------------------ headless Chromium

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                  "--window-size=1280,1000"]


def find_program(*names):
    """The first of ``names`` on the PATH or in /usr/bin, or None."""
    import shutil
    from pathlib import Path

    for name in names:
        for candidate in (shutil.which(name), Path("/usr/bin") / name):
            if candidate and Path(candidate).exists():
                return str(candidate)
    return None


def start_chromium(tmp_path_factory, *, needed_by, page_timeout, capabilities=None):
    """A headless Chromium driven by Selenium, with a profile of its own; skips the
    test, saying what is missing and what ``needed_by`` needs, when Chromium, its
    driver or Selenium is not installed. The caller quits it."""
    chromium = find_program("chromium", "chromium-browser", "google-chrome")
    driver_path = find_program("chromedriver")
    if chromium is None or driver_path is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium "
                    f"chromium-driver); {needed_by} chromium and chromedriver")
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    for name, value in (capabilities or {}).items():
        options.set_capability(name, value)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(page_timeout)
    return driver
