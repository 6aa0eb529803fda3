"""Loading trained models: run folders, shipped models, and bad weights files."""

import json
import shutil

import numpy as np
import pytest

from stegutils import pretrained


@pytest.fixture()
def shipped(tiny_run, tmp_path, monkeypatch):
    """A private weights folder holding the tiny run exported as 'tiny'."""
    weights_dir = tmp_path / "weights"
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", weights_dir)
    pretrained.export(tiny_run, "tiny", extra={"training": {"command": "test"}})
    return weights_dir


def test_a_run_folder_loads_its_best_weights(tiny_run):
    net, card = pretrained.load(tiny_run)
    assert card["variant"] == "fast" and card["validation"]["step"] in (3, 6)
    image = np.random.default_rng(0).random((16, 16, 3), dtype=np.float32)
    assert net.reveal(net.hide(image, image)).shape == image.shape


def test_export_writes_weights_and_a_card_with_the_weights_hash(shipped, tiny_run):
    card = json.loads((shipped / "tiny.json").read_text())
    assert card["sha256"] == pretrained.sha256(shipped / "tiny.weights.h5")
    assert card["config"]["variant_options"]["width"] == 8
    assert card["training"] == {"command": "test"}
    assert card["parameters"]["total"] > 0
    assert pretrained.list() == ["tiny"]


def test_a_shipped_model_gives_the_same_containers_as_its_run(shipped, tiny_run):
    from_run, _ = pretrained.load(tiny_run)
    from_name, card = pretrained.load("tiny")
    assert card["name"] == "tiny"
    rng = np.random.default_rng(2)
    cover, secret = rng.random((2, 16, 16, 3), dtype=np.float32)
    np.testing.assert_array_equal(from_run.hide(cover, secret), from_name.hide(cover, secret))


def test_model_name_is_the_name_load_gives_the_card(shipped, tiny_run, tmp_path, monkeypatch):
    assert pretrained.model_name("tiny") == pretrained.load("tiny")[1]["name"] == "tiny"
    assert pretrained.model_name(tiny_run) == pretrained.load(tiny_run)[1]["name"]
    assert pretrained.model_name(tiny_run) == tiny_run.name
    # A folder given as "." or with a trailing slash is named by the folder itself.
    monkeypatch.chdir(tiny_run)
    assert pretrained.model_name(".") == pretrained.load(".")[1]["name"] == tiny_run.name
    assert pretrained.model_name(f"../{tiny_run.name}/") == tiny_run.name
    assert pretrained.model_name() == pretrained.DEFAULT_MODEL


def test_a_changed_weights_file_fails_the_hash_check(shipped):
    path = shipped / "tiny.weights.h5"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="does not match its model card"):
        pretrained.load("tiny")


def test_a_truncated_weights_file_gets_a_clear_error(shipped):
    path = shipped / "tiny.weights.h5"
    path.write_bytes(path.read_bytes()[:1000])
    card_path = shipped / "tiny.json"
    card = json.loads(card_path.read_text())
    card["sha256"] = pretrained.sha256(path)  # get past the hash: test the reader
    card_path.write_text(json.dumps(card))
    with pytest.raises(ValueError, match="corrupt, truncated"):
        pretrained.load("tiny")


def test_unknown_names_and_folders_say_what_was_expected(shipped, tmp_path):
    with pytest.raises(ValueError, match=r"no model named 'nope'.*\(tiny\)"):
        pretrained.load("nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="not a run folder"):
        pretrained.load(empty)


def test_a_run_without_weights_says_so(tiny_run, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(tiny_run / "config.json", run / "config.json")
    with pytest.raises(ValueError, match="holds no weights"):
        pretrained.load(run)


def test_card_commands_name_run_folders_without_absolute_paths():
    from stegutils.pretrained import _portable_argv

    argv = ["stegutils", "train", "--run-dir", "/home/someone/runs/seed-blog",
            "--init-from=/srv/x/fast-v1", "--data", "/data/my photos", "--steps", "10",
            "--init-from", "fast"]
    assert _portable_argv(argv) == [
        "stegutils", "train", "--run-dir", "runs/seed-blog", "--init-from=runs/fast-v1",
        "--data", "my photos", "--steps", "10", "--init-from", "fast"]
    relative = ["stegutils", "train", "--run-dir", "runs/a", "--data", "bsds500"]
    assert _portable_argv(relative) == relative


def _warm_run(tmp_path, start, photo_folder, name="warm", **overrides):
    """A few steps of the tiny model, warm-started from ``start``."""
    from stegutils import train

    from conftest import TINY_FAST

    config = train.Config(variant="fast", variant_options=TINY_FAST, size=16, batch_size=4,
                          steps=3, seed=4, lr=5e-4, precision="float32",
                          data=str(photo_folder), val_photos=2, log_every=3, eval_every=3,
                          checkpoint_every=3, init_from=str(start), **overrides)
    run_dir = tmp_path / name
    train.Trainer(config, run_dir).fit(progress=False)
    return run_dir


def test_a_warm_started_export_counts_the_whole_chain(shipped, tiny_run, tmp_path,
                                                      photo_folder):
    # Ship the tiny run with the record export makes (the fixture's card has a stand-in).
    pretrained.export(tiny_run, "tiny")
    parent = json.loads((shipped / "tiny.json").read_text())
    run = _warm_run(tmp_path, "tiny", photo_folder, cover_loss="decibels")
    pretrained.export(run, "tiny")  # the same name: the card it started from is replaced
    card = json.loads((shipped / "tiny.json").read_text())
    training, first = card["training"], parent["training"]
    assert card["config"]["init_from"] == "tiny"
    assert training["warm_start"] == {"from": "tiny", "sha256": parent["sha256"]}
    assert [stage["step"] for stage in training["stages"]][0] == first["step"]
    assert len(training["stages"]) == 2 and training["stages"][1]["lr"] == 5e-4
    # Each stage says how its cover term was counted.
    assert [stage["cover_loss"] for stage in training["stages"]] == ["mse", "decibels"]
    assert training["step"] == first["step"] + training["stages"][1]["step"]
    assert training["images_seen"] == training["step"] * 4
    assert training["commands"][: len(first["commands"])] == first["commands"]


def test_a_run_warm_started_from_a_run_folder_records_that_folder(tiny_run, tmp_path,
                                                                  photo_folder):
    run = _warm_run(tmp_path, tiny_run, photo_folder, name="from-folder")
    card_path = pretrained.export(run, "chained", out_dir=tmp_path / "out")
    training = json.loads(card_path.read_text())["training"]
    assert training["warm_start"] == {"from": f"runs/{tiny_run.name}", "sha256": None}
    assert len(training["stages"]) == 2
    assert training["step"] == sum(stage["step"] for stage in training["stages"])
