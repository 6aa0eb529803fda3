"""The command line, as a user types it: round trips and every bad input."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from stegutils import cli, data, metrics

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run(capsys, *argv):
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture()
def images(tmp_path, photo_folder):
    cover = photo_folder / "photo0.png"
    secret = photo_folder / "photo1.png"
    return cover, secret


def test_hide_then_reveal_round_trip(capsys, tiny_run, images, tmp_path):
    cover, secret = images
    container = tmp_path / "container.png"
    status, _, err = run(capsys, "hide", "--cover", str(cover), "--secret", str(secret),
                         "--out", str(container), "--model", str(tiny_run))
    assert status == 0, err
    stored = np.asarray(Image.open(container))
    assert stored.dtype == np.uint8 and stored.shape == (40, 48, 3)
    revealed = tmp_path / "revealed.png"
    status, _, err = run(capsys, "reveal", str(container), "--out", str(revealed),
                         "--model", str(tiny_run))
    assert status == 0, err
    assert data.load_image(revealed).shape == (40, 48, 3)
    # The container on disk is exactly what the library computes.
    from stegutils import pretrained

    net, _ = pretrained.load(tiny_run)
    expected = net.hide(data.load_image(cover), data.load_image(secret))
    np.testing.assert_array_equal(stored, data.to_uint8(expected))


def test_a_secret_of_another_size_is_resized_with_a_notice(capsys, tiny_run, images, tmp_path):
    cover, _ = images
    small = tmp_path / "small.png"
    data.save_image(small, np.random.default_rng(0).random((10, 12, 3)))
    status, _, err = run(capsys, "hide", "--cover", str(cover), "--secret", str(small),
                         "--out", str(tmp_path / "c.png"), "--model", str(tiny_run))
    assert status == 0
    assert "notice: the secret is 12x10 and the cover 48x40" in err


def test_odd_sizes_are_padded_and_cropped_back(capsys, tiny_run, tmp_path):
    odd = tmp_path / "odd.png"
    data.save_image(odd, np.random.default_rng(0).random((17, 23, 3)))
    out = tmp_path / "odd_container.png"
    status, _, _ = run(capsys, "hide", "--cover", str(odd), "--secret", str(odd),
                       "--out", str(out), "--model", str(tiny_run))
    assert status == 0 and Image.open(out).size == (23, 17)


@pytest.mark.parametrize("case,expected", [
    ("missing", "no such file"),
    ("not-image", "does not recognise it as an image"),
    ("jpeg-out", "lossy compression destroys the hidden secret"),
    ("out-is-input", "is one of the input files"),
    ("unknown-model", "no model named 'nosuchmodel'"),
    ("empty", "empty"),
    ("directory", "directory"),
    ("truncated", "truncated"),
])
def test_bad_hide_inputs_give_one_line_errors(capsys, tiny_run, images, tmp_path, case,
                                             expected):
    cover, secret = images
    out = tmp_path / "c.png"
    model = str(tiny_run)
    if case == "missing":
        cover = tmp_path / "missing.png"
    elif case == "not-image":
        cover = tmp_path / "notes.png"
        cover.write_text("not a picture")
    elif case == "jpeg-out":
        out = tmp_path / "c.jpg"
    elif case == "out-is-input":
        out = secret
    elif case == "unknown-model":
        model = "nosuchmodel"
    elif case == "empty":
        cover = tmp_path / "empty.png"
        cover.write_bytes(b"")
    elif case == "directory":
        cover = tmp_path
    elif case == "truncated":
        cover = tmp_path / "cut.png"
        cover.write_bytes(pathlib.Path(images[0]).read_bytes()[:200])
    before = pathlib.Path(secret).read_bytes()
    status, _, err = run(capsys, "hide", "--cover", str(cover), "--secret", str(secret),
                         "--out", str(out), "--model", model)
    assert status == 1
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert expected in err
    assert pathlib.Path(secret).read_bytes() == before


def test_train_refuses_an_existing_run_without_resume(capsys, tiny_run):
    status, _, err = run(capsys, "train", "--run-dir", str(tiny_run), "--steps", "2")
    assert status == 1 and "pass --resume" in err


def test_train_resume_continues_to_more_steps(capsys, tiny_run, tmp_path):
    import shutil

    run_dir = tmp_path / "copy"
    shutil.copytree(tiny_run, run_dir)
    status, _, err = run(capsys, "--quiet", "train", "--run-dir", str(run_dir), "--resume",
                         "--steps", "9")
    assert status == 0, err
    steps = [json.loads(line)["step"] for line in
             (run_dir / "history.jsonl").read_text().splitlines()]
    assert steps == [3, 6, 9]


def test_train_rejects_bad_arguments_without_a_traceback(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--run-dir", str(tmp_path / "r"), "--steps", "0"])
    assert exit_info.value.code == 2
    assert "error: argument --steps: expected a positive integer, got 0" in capsys.readouterr().err
    status, _, err = run(capsys, "train", "--run-dir", str(tmp_path / "r"), "--variant",
                         "nope")
    assert status == 1 and "variant must be one of" in err


def test_evaluate_prints_a_table_and_json(capsys, tiny_run, photo_folder):
    status, out, err = run(capsys, "evaluate", "--model", str(tiny_run), "--data",
                           str(photo_folder), "--size", "16", "--count", "4", "--json")
    assert status == 0, err
    result = json.loads(out)
    assert result["images"] == 4 and np.isfinite(result["cover_psnr"])
    status, out, _ = run(capsys, "evaluate", "--model", str(tiny_run), "--data",
                         str(photo_folder), "--size", "16", "--count", "4")
    assert status == 0 and "mean pixel error" in out and "secret" in out


def test_models_lists_variants(capsys):
    status, out, _ = run(capsys, "models")
    assert status == 0 and "seed, paper, fast" in out


def test_python_dash_m_help_and_errors_without_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "stegutils", "--help"], capture_output=True,
                            text=True, env=env, timeout=120)
    assert result.returncode == 0
    for command in ("hide", "reveal", "train", "evaluate"):
        assert command in result.stdout
    result = subprocess.run([sys.executable, "-m", "stegutils", "reveal",
                             str(tmp_path / "none.png"), "--out", str(tmp_path / "r.png")],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    for command in ("hide", "reveal", "train", "evaluate", "models"):
        result = subprocess.run([sys.executable, "-m", "stegutils", command, "--help"],
                                capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 0 and "usage: stegutils" in result.stdout


def test_large_images_go_through_tiles_with_the_same_result(capsys, tiny_run, images,
                                                            tmp_path, monkeypatch):
    from stegutils import pretrained, tiling

    calls = []
    real_hide, real_reveal = tiling.hide, tiling.reveal
    monkeypatch.setattr(tiling, "TILED_ABOVE", 100)  # the 48x40 photos count as large
    monkeypatch.setattr(tiling, "hide", lambda *a, **k: calls.append("hide") or real_hide(*a, **k))
    monkeypatch.setattr(tiling, "reveal",
                        lambda *a, **k: calls.append("reveal") or real_reveal(*a, **k))
    cover, secret = images
    container = tmp_path / "container.png"
    status, _, err = run(capsys, "hide", "--cover", str(cover), "--secret", str(secret),
                         "--out", str(container), "--model", str(tiny_run))
    assert status == 0, err
    revealed = tmp_path / "revealed.png"
    status, _, err = run(capsys, "reveal", str(container), "--out", str(revealed),
                         "--model", str(tiny_run))
    assert status == 0, err
    assert calls == ["hide", "reveal"]
    net, _ = pretrained.load(tiny_run)
    whole = data.to_uint8(net.hide(data.load_image(cover), data.load_image(secret))).astype(int)
    stored = np.asarray(Image.open(container)).astype(int)
    assert np.abs(stored - whole).max() <= 1 and (stored != whole).mean() < 1e-3


def test_a_cover_narrower_than_the_receptive_field_gets_a_warning(capsys, tiny_run, tmp_path):
    from stegutils import models, pretrained

    net, _ = pretrained.load(tiny_run)
    field = models.receptive_field(net)["prep+hide"]
    small = tmp_path / "small.png"
    data.save_image(small, np.random.default_rng(0).random((field - 2, 40, 3)))
    status, _, err = run(capsys, "hide", "--cover", str(small), "--secret", str(small),
                         "--out", str(tmp_path / "c.png"), "--model", str(tiny_run))
    assert status == 0
    assert f"warning: the cover is 40x{field - 2}, narrower than the model's receptive field" in err
    big = tmp_path / "big.png"
    data.save_image(big, np.random.default_rng(0).random((field + 2, field + 2, 3)))
    status, _, err = run(capsys, "hide", "--cover", str(big), "--secret", str(big),
                         "--out", str(tmp_path / "d.png"), "--model", str(tiny_run))
    assert status == 0 and "warning" not in err


def test_commands_keep_tensorflow_start_up_lines_off_stderr(tiny_run, images, tmp_path):
    import re

    cover, secret = images
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    argv = [sys.executable, "-m", "stegutils", "hide", "--cover", str(cover), "--secret",
            str(secret), "--out", str(tmp_path / "c.png"), "--model", str(tiny_run)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines and all(line.startswith(("wrote ", "note: ")) for line in lines), lines
    noise = re.compile(r"absl|cuInit|cuda|^[IWEF]\d{4} ", re.IGNORECASE | re.MULTILINE)
    debug = subprocess.run(argv[:3] + ["--debug"] + argv[3:], capture_output=True,
                           text=True, env=env, timeout=300)
    assert debug.returncode == 0
    plain = subprocess.run([sys.executable, "-c", "import tensorflow as tf; tf.constant(1)"],
                           capture_output=True, text=True, env=env, timeout=300)
    if noise.search(plain.stderr):  # where TensorFlow prints them at all, --debug shows them
        assert noise.search(debug.stderr), debug.stderr
