"""The command line, as a user types it: round trips and every bad input."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from stegutils import cli, data

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


def test_hide_strength_scales_the_residual_as_the_library_does(capsys, tiny_run, images,
                                                             tmp_path):
    from stegutils import models, pretrained

    cover, secret = images
    out = tmp_path / "weak.png"
    status, _, err = run(capsys, "hide", "--cover", str(cover), "--secret", str(secret),
                         "--out", str(out), "--model", str(tiny_run), "--strength", "0.5")
    assert status == 0, err
    assert "residual strength 0.5" in err
    net, _ = pretrained.load(tiny_run)
    cover_f, secret_f = data.load_image(cover), data.load_image(secret)
    expected = models.scale_residual(cover_f, net.hide(cover_f, secret_f, quantize=False), 0.5)
    np.testing.assert_array_equal(np.asarray(Image.open(out)), data.to_uint8(expected))


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "strong"])
def test_hide_refuses_a_strength_that_is_not_a_positive_number(capsys, tiny_run, images,
                                                               tmp_path, value):
    cover, secret = images
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["hide", "--cover", str(cover), "--secret", str(secret), "--out",
                  str(tmp_path / "c.png"), "--model", str(tiny_run), "--strength", value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument --strength: expected a finite number above 0" in err
    assert not (tmp_path / "c.png").exists()


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


def test_train_quantize_switch_reaches_the_config(tmp_path):
    parser = cli.build_parser()
    base = ["train", "--run-dir", str(tmp_path / "r")]
    assert cli._config_from_args(parser.parse_args(base)).quantize is True
    assert cli._config_from_args(parser.parse_args(base + ["--no-quantize"])).quantize is False
    assert cli._config_from_args(parser.parse_args(base + ["--quantize"])).quantize is True
    sub_help = subprocess.run([sys.executable, "-m", "stegutils", "train", "--help"],
                              capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    assert "--no-quantize" in sub_help and "default: --quantize" in sub_help


def test_train_cover_loss_reaches_the_config_and_a_bad_one_is_refused(capsys, tmp_path):
    parser = cli.build_parser()
    base = ["train", "--run-dir", str(tmp_path / "r")]
    assert cli._config_from_args(parser.parse_args(base)).cover_loss == "mse"
    given = parser.parse_args(base + ["--cover-loss", "decibels"])
    assert cli._config_from_args(given).cover_loss == "decibels"
    with pytest.raises(SystemExit) as exit_info:
        cli.main(base + ["--cover-loss", "psnr"])
    assert exit_info.value.code == 2
    assert "--cover-loss: invalid choice: 'psnr'" in capsys.readouterr().err


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


# ------------------------------------------------------------------------- folder mode


@pytest.fixture()
def pair_folders(tmp_path, photo_folder):
    """covers/{a,b,c}.png and secrets/{a,b,c}: the same names, other extensions too."""
    covers, secrets = tmp_path / "covers", tmp_path / "secrets"
    covers.mkdir()
    secrets.mkdir()
    for index, stem in enumerate("abc"):
        (covers / f"{stem}.png").write_bytes((photo_folder / f"photo{index}.png").read_bytes())
        image = data.load_image(photo_folder / f"photo{index + 3}.png")
        data.save_image(secrets / f"{stem}{'.bmp' if stem == 'b' else '.png'}", image)
    return covers, secrets


def _snapshot(*folders):
    return {path: path.read_bytes() for folder in folders for path in sorted(folder.iterdir())}


def test_folders_pair_by_name_and_match_one_pair_at_a_time(capsys, tiny_run, pair_folders,
                                                          tmp_path):
    covers, secrets = pair_folders
    (covers / "notes.txt").write_text("not a photo")
    before = _snapshot(covers, secrets)
    out = tmp_path / "containers"
    status, _, err = run(capsys, "hide", "--cover-dir", str(covers), "--secret-dir",
                         str(secrets), "--out-dir", str(out), "--model", str(tiny_run))
    assert status == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.png"]
    assert "skipping 1 entry that is not an image by its extension: notes.txt" in err
    assert "wrote 3 containers to" in err
    assert _snapshot(covers, secrets) == before  # inputs untouched
    # Each container is what the one-pair command writes for its pair (b.bmp for b).
    single = tmp_path / "single.png"
    status, _, err = run(capsys, "hide", "--cover", str(covers / "b.png"), "--secret",
                         str(secrets / "b.bmp"), "--out", str(single), "--model", str(tiny_run))
    assert status == 0, err
    assert single.read_bytes() == (out / "b.png").read_bytes()

    revealed = tmp_path / "revealed"
    status, _, err = run(capsys, "reveal", str(out), "--out-dir", str(revealed), "--model",
                         str(tiny_run))
    assert status == 0, err
    assert sorted(p.name for p in revealed.iterdir()) == ["a.png", "b.png", "c.png"]
    # A list of files works too, and writes the same secrets.
    listed = tmp_path / "listed"
    status, _, err = run(capsys, "--quiet", "reveal", str(out / "a.png"), str(out / "c.png"),
                         "--out-dir", str(listed), "--model", str(tiny_run))
    assert status == 0 and err == "", err
    assert sorted(p.name for p in listed.iterdir()) == ["a.png", "c.png"]
    assert (listed / "c.png").read_bytes() == (revealed / "c.png").read_bytes()


def test_a_bad_file_is_reported_by_name_and_the_others_are_written(capsys, tiny_run,
                                                                  pair_folders, tmp_path):
    covers, secrets = pair_folders
    (covers / "b.png").write_text("not a picture")
    out = tmp_path / "containers"
    status, _, err = run(capsys, "hide", "--cover-dir", str(covers), "--secret-dir",
                         str(secrets), "--out-dir", str(out), "--model", str(tiny_run))
    assert status == 1
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "c.png"]  # no temporaries
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2, err
    assert errors[0].startswith("error: b: cannot read image") and "b.png" in errors[0]
    assert errors[1] == "error: 1 of 3 failed (b); the others were written"
    # The same for reveal: a bad container among good ones.
    (out / "z.png").write_bytes(b"")
    revealed = tmp_path / "revealed"
    status, _, err = run(capsys, "--quiet", "reveal", str(out), "--out-dir", str(revealed),
                         "--model", str(tiny_run))
    assert status == 1
    assert sorted(p.name for p in revealed.iterdir()) == ["a.png", "c.png"]
    assert "error: z.png: cannot read image" in err and "empty" in err


@pytest.mark.parametrize("case,expected", [
    ("unequal", "--cover-dir has 3 images and --secret-dir 2; expected one secret per cover "
                "with the same name (the file name without its extension): no secret named c"),
    ("names", "have 3 images each, but their names differ; expected one secret per cover"),
    ("duplicate", "holds two images named 'a' (a.jpg and a.png); expected one image per name"),
    ("out-is-input-dir", "holds input images; choose another folder"),
    ("empty", "holds no images; expected files ending in"),
    ("missing", "no such folder; expected a folder of images"),
    ("mixed", "give --cover, --secret and --out for one pair, or --cover-dir, --secret-dir "
              "and --out-dir for folders; not both"),
    ("incomplete", "hide needs --cover-dir, --secret-dir and --out-dir for folders; "
                   "missing --out-dir"),
])
def test_bad_folders_are_refused_in_one_line_before_any_work(capsys, tiny_run, pair_folders,
                                                            tmp_path, case, expected):
    covers, secrets = pair_folders
    out = tmp_path / "out"
    argv = ["hide", "--cover-dir", str(covers), "--secret-dir", str(secrets), "--out-dir",
            str(out), "--model", str(tiny_run)]
    if case == "unequal":
        (secrets / "c.png").unlink()
    elif case == "names":
        (secrets / "c.png").rename(secrets / "d.png")
    elif case == "duplicate":
        (covers / "a.jpg").write_bytes(b"")
    elif case == "out-is-input-dir":
        out = secrets
        argv[6] = str(secrets)
    elif case == "empty":
        for path in covers.iterdir():
            path.unlink()
    elif case == "missing":
        argv[2] = str(tmp_path / "nowhere")
    elif case == "mixed":
        argv += ["--cover", str(covers / "a.png")]
    elif case == "incomplete":
        argv = argv[:5] + argv[7:]
    before = _snapshot(covers, secrets)
    status, _, err = run(capsys, *argv)
    assert status == 1
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert expected in err
    assert _snapshot(covers, secrets) == before
    if case != "out-is-input-dir":
        assert not out.exists()


def test_reveal_never_writes_over_a_container(capsys, tiny_run, pair_folders, tmp_path):
    covers, secrets = pair_folders
    out = tmp_path / "containers"
    status, _, _ = run(capsys, "--quiet", "hide", "--cover-dir", str(covers), "--secret-dir",
                       str(secrets), "--out-dir", str(out), "--model", str(tiny_run))
    assert status == 0
    before = _snapshot(out)
    for argv in ([str(out), "--out-dir", str(out)],
                 [str(out / "a.png"), "--out-dir", str(out)],
                 [str(out / "a.png"), str(tmp_path / "x" / "a.png"), "--out-dir",
                  str(tmp_path / "y")]):
        status, _, err = run(capsys, "reveal", *argv, "--model", str(tiny_run))
        assert status == 1 and err.startswith("error: ") and err.count("\n") == 1, err
    assert "holds input images" in err or "would both be revealed to" in err
    assert _snapshot(out) == before
    status, _, err = run(capsys, "reveal", str(out), "--out", str(tmp_path / "r.png"),
                         "--model", str(tiny_run))
    assert status == 1 and "expected one container file, or --out-dir FOLDER" in err


def test_folder_mode_shows_a_progress_bar_unless_quiet(capsys, tiny_run, pair_folders,
                                                       tmp_path):
    covers, secrets = pair_folders
    status, _, err = run(capsys, "hide", "--cover-dir", str(covers), "--secret-dir",
                         str(secrets), "--out-dir", str(tmp_path / "o1"), "--model",
                         str(tiny_run))
    assert status == 0 and "hide: " in err and "/3 [" in err and "pair/s" in err
    status, _, err = run(capsys, "--quiet", "hide", "--cover-dir", str(covers),
                         "--secret-dir", str(secrets), "--out-dir", str(tmp_path / "o2"),
                         "--model", str(tiny_run))
    assert status == 0 and err == ""


def test_precision_option(capsys, tiny_run, images, tmp_path):
    cover, secret = images
    outputs = {}
    for precision in ("float32", "bfloat16", "auto"):
        outputs[precision] = tmp_path / f"{precision}.png"
        status, _, err = run(capsys, "hide", "--cover", str(cover), "--secret", str(secret),
                             "--out", str(outputs[precision]), "--model", str(tiny_run),
                             "--precision", precision)
        assert status == 0, err
    exact = np.asarray(Image.open(outputs["float32"])).astype(int)
    low = np.asarray(Image.open(outputs["bfloat16"])).astype(int)
    assert low.shape == exact.shape and np.abs(low - exact).mean() < 2
    status, _, err = run(capsys, "reveal", str(outputs["bfloat16"]), "--out",
                         str(tmp_path / "r.png"), "--model", str(tiny_run), "--precision",
                         "bfloat16")
    assert status == 0, err
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["hide", "--cover", str(cover), "--secret", str(secret), "--out",
                  str(tmp_path / "x.png"), "--precision", "float64"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'float64'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["hide", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--precision {auto,float32,bfloat16}" in help_text and " dB " in help_text
    assert "precision.json" in help_text
