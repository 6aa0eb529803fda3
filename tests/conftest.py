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


def _build_book(tmp_path_factory, *, fast, env_changes=None):
    """Build the book into a temporary folder: (exit status, HTML folder, log).

    Fetches the pinned JavaScript first. The build goes into a temporary folder with its
    own execution cache (``--path-output``), so it neither reads nor disturbs ``make
    book``'s ``_build``.
    """
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    fetch = subprocess.run([sys.executable, str(root / "book" / "_assets" / "fetch.py")],
                           cwd=root, capture_output=True, text=True, timeout=600, check=False)
    assert fetch.returncode == 0, (
        f"fetching the book's JavaScript failed:\n{fetch.stdout}{fetch.stderr}")
    output = tmp_path_factory.mktemp("book-fast" if fast else "book-full")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", NO_COLOR="1")
    env.pop("STEGUTILS_FAST", None)
    if fast:
        env["STEGUTILS_FAST"] = "1"
    for name, value in (env_changes or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    # jupyter-book has no `python -m jupyter_book`: call its entry point with this
    # interpreter, so that the build and the notebooks' kernels use this environment.
    command = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
               "build", str(root), "--path-output", str(output), "--keep-going"]
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True,
                            check=False)
    log = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + "\n" + result.stderr)
    # The notebooks' kernels share the build's stderr, and TensorFlow's C++ logging
    # (absl) writes lines there at import that no setting silences, one of them
    # starting "WARNING: "; they are not Sphinx's, so they are left out of the log.
    kernel_noise = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\)"
                              r"|[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\] )")
    log = "\n".join(line for line in log.splitlines() if not kernel_noise.match(line))
    return result.returncode, output / "_build" / "html", log


@pytest.fixture(scope="session")
def built_book_full(tmp_path_factory):
    """The book as a reader without the data set builds it: full mode, no
    ``STEGUTILS_DATA`` and an empty cache, so every chapter falls back to the built-in
    photos (after a download that fails without a network)."""
    cache = tmp_path_factory.mktemp("empty-cache")
    return _build_book(tmp_path_factory, fast=False,
                       env_changes={"STEGUTILS_DATA": None, "STEGUTILS_CACHE": str(cache)})


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
