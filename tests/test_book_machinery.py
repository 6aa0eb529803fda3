"""The book's machinery: one reading of STEGUTILS_FAST, shared with the Makefile."""

import os
import pathlib
import re
import subprocess

import pytest

from stegutils import book, train

ROOT = pathlib.Path(__file__).resolve().parents[1]

VALUES = ["", "0", "false", "FALSE", "No", "off", "OFF", "Off", " off", "off ", "\toff",
          "1", "yes", "true", "on", "fast", "2", "offf", "o ff"]


def _makefile_mode(value):
    """The mode the Makefile's ``book`` target picks for STEGUTILS_FAST=value: its own
    ``case`` statement, run by bash."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    block = re.search(r"^\tcase .*?^\tesac;", text, flags=re.M | re.S)
    assert block, "the Makefile's book target has no case statement on STEGUTILS_FAST"
    script = block[0].replace("$$", "$").replace("\\\n", "\n").replace("\t", " ")
    env = {**os.environ, "STEGUTILS_FAST": value}
    done = subprocess.run(["bash", "-c", script + "\necho $mode"], env=env,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.mark.parametrize("value", VALUES)
def test_python_and_the_makefile_read_stegutils_fast_alike(value, monkeypatch):
    monkeypatch.setenv("STEGUTILS_FAST", value)
    expected = "fast" if book.fast_mode() else "full"
    assert _makefile_mode(value) == expected


def test_off_and_its_kin_mean_the_full_mode_in_any_case(monkeypatch):
    for value in ("", "0", "false", "no", "off", "OFF", "No", " False "):
        assert book.fast_mode(value) is False, value
    for value in ("1", "yes", "true", "fast"):
        assert book.fast_mode(value) is True, value
    monkeypatch.delenv("STEGUTILS_FAST", raising=False)
    assert book.fast_mode() is False
    monkeypatch.setenv("STEGUTILS_FAST", "off")
    assert book.fast_mode() is False and train.fast_mode() is False
    monkeypatch.setenv("STEGUTILS_FAST", "1")
    assert book.fast_mode() is True and train.fast_mode() is True


def test_the_old_names_of_the_book_machinery_are_the_new_modules():
    import stegutils.reproduction
    import stegutils.results
    import stegutils.timings

    assert stegutils.timings is book.timings
    assert stegutils.results is book.results
    assert stegutils.reproduction is book.reproduction
    assert train.fast_mode is book.fast_mode
