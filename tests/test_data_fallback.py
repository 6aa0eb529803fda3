"""photos_or_builtin: a notebook without BSDS500 falls back to the built-in photos."""

import urllib.error

import numpy as np
import pytest

from stegutils import data


@pytest.fixture(autouse=True)
def _no_bsds500_anywhere(tmp_path, monkeypatch):
    # No data folder in the environment and an empty cache: BSDS500 is nowhere.
    monkeypatch.delenv("STEGUTILS_DATA", raising=False)
    monkeypatch.setenv("STEGUTILS_CACHE", str(tmp_path / "empty-cache"))


def _same_images(first, second):
    return len(first) == len(second) and all(
        np.array_equal(a, b) for a, b in zip(first, second))


def test_missing_bsds500_falls_back_to_builtin_split_with_one_line(capsys):
    images, used = data.photos_or_builtin("bsds500", "test", download=False)
    assert used == "builtin"
    assert _same_images(images, data.photos("builtin", "test"))
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1
    assert "BSDS500" in printed[0] and "STEGUTILS_DATA" in printed[0]
    assert f"{len(images)} built-in test photos" in printed[0]


def test_failed_download_falls_back_too(monkeypatch, capsys):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(data, "_download", offline)
    images, used = data.photos_or_builtin("bsds500", "train")
    assert used == "builtin"
    assert _same_images(images, data.photos("builtin", "train"))
    assert "download" in capsys.readouterr().out


def test_quiet_fallback_prints_nothing(capsys):
    data.photos_or_builtin("bsds500", "train", download=False, quiet=True)
    assert capsys.readouterr().out == ""


def test_missing_folder_falls_back_and_names_it(tmp_path, capsys):
    missing = tmp_path / "no-such-photos"
    images, used = data.photos_or_builtin(missing, "train")
    assert used == "builtin" and images
    assert str(missing) in capsys.readouterr().out


def test_existing_folder_is_used_without_a_note(photo_folder, capsys):
    images, used = data.photos_or_builtin(photo_folder, "train", max_side=None)
    assert used == str(photo_folder)
    assert _same_images(images, data.photos(photo_folder, "train", max_side=None))
    assert capsys.readouterr().out == ""


def test_bsds500_in_data_folder_is_used(tmp_path, monkeypatch, capsys):
    # A folder laid out like BSDS500, checked against a manifest for that folder.
    from PIL import Image

    split = tmp_path / "data" / "bsds500" / "test"
    split.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("1.jpg", "2.jpg"):
        Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(split / name)
    monkeypatch.setattr(data, "_shipped_manifest", lambda: {"test": {"1.jpg": "", "2.jpg": ""}})
    monkeypatch.setenv("STEGUTILS_DATA", str(tmp_path / "data"))
    images, used = data.photos_or_builtin("bsds500", "test", download=False)
    assert used == "bsds500" and len(images) == 2 and images[0].shape == (20, 30, 3)
    assert capsys.readouterr().out == ""


def test_broken_bsds500_copy_is_reported_not_replaced(tmp_path, monkeypatch):
    split = tmp_path / "data" / "bsds500" / "train"
    split.mkdir(parents=True)
    (split / "notes.txt").write_text("no photos here")
    monkeypatch.setenv("STEGUTILS_DATA", str(tmp_path / "data"))
    with pytest.raises(ValueError, match="no .jpg files"):
        data.photos_or_builtin("bsds500", "train", download=False)


def test_split_must_be_train_or_test():
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.photos_or_builtin("bsds500", "val")
