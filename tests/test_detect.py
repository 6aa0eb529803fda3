"""The shipped steganalysis detector: its card, `stegutils detect` and reveal's warning."""

import json
import shutil

import numpy as np
import pytest

from stegutils import attacks, cli, data, detection, pretrained


def run(capsys, *argv):
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Two built-in test photos (never trained on), 192 px crops: a cover and a secret."""
    folder = tmp_path_factory.mktemp("detect")
    test = data.photos("builtin", "test")
    clean, secret = folder / "clean.png", folder / "secret.png"
    data.save_image(clean, data.center_crop(test[0], 192))
    data.save_image(secret, data.center_crop(test[1], 192))
    return folder, clean, secret


@pytest.fixture(scope="module")
def container(photos):
    folder, clean, secret = photos
    out = folder / "container.png"
    status = cli.main(["--quiet", "hide", "--cover", str(clean), "--secret", str(secret),
                       "--out", str(out), "--model", "fast"])
    assert status == 0
    return out


def test_the_detector_ships_with_a_card_and_is_not_a_hiding_model():
    info = detection.card()
    assert info["kind"] == "detector" and 0 < info["threshold"] < 1
    weights = detection.CARD_PATH.with_name(info["weights"])
    assert info["sha256"] == pretrained.sha256(weights)
    assert "detector" not in pretrained.list() and "fast" in pretrained.list()
    # It learnt the containers of the weights that ship, the default model's among them.
    learnt = {entry["name"]: entry["sha256"] for entry in info["models"]}
    assert pretrained.DEFAULT_MODEL in learnt and "fast" in learnt
    for name, sha in learnt.items():
        assert pretrained.card(name)["sha256"] == sha, name
    heldout = info["heldout"]["bsds500_test"]
    assert heldout["split"] == "test" and heldout["images"] > 0 and 0.5 < heldout["auc"] <= 1
    assert info["heldout"]["builtin_test"]["source"] == "builtin"
    assert info["command"].startswith("python benchmarks/detector.py")
    for call in (pretrained.card, pretrained.load):
        with pytest.raises(ValueError, match="is the steganalysis detector, not a hiding model"):
            call("detector")


def test_a_changed_detector_fails_its_hash_check(tmp_path, capsys, photos):
    for name in ("detector.json", "detector.weights.h5"):
        shutil.copy(detection.CARD_PATH.with_name(name), tmp_path / name)
    weights = tmp_path / "detector.weights.h5"
    content = bytearray(weights.read_bytes())
    content[len(content) // 2] ^= 0xFF
    weights.write_bytes(bytes(content))
    card_path = tmp_path / "detector.json"
    with pytest.raises(ValueError, match="does not match its card"):
        detection.load(card_path)
    status, out, err = run(capsys, "detect", str(photos[1]), "--detector", str(card_path))
    assert status == 1 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "does not match its card" in err
    info = json.loads(card_path.read_text())
    del info["sha256"]
    card_path.write_text(json.dumps(info))
    with pytest.raises(ValueError, match="has no 'sha256' field: expected the SHA-256"):
        detection.load(card_path)


def test_detect_tells_a_container_from_a_clean_photo(capsys, photos, container, tmp_path):
    _, clean, _ = photos
    status, out, err = run(capsys, "detect", str(clean), str(container))
    assert status == 0, err
    lines = [line.split() for line in out.splitlines()]
    assert [line[1:] for line in lines] == [["clean", str(clean)], ["container", str(container)]]
    threshold = detection.card()["threshold"]
    assert float(lines[0][0]) < threshold <= float(lines[1][0])
    assert err.startswith("detector: AUC ")  # where its figures come from, on stderr
    # JSON, and a bad file among good ones: reported on one line, the others scored.
    bad = tmp_path / "bad.png"
    bad.write_text("not a picture")
    status, out, err = run(capsys, "--quiet", "detect", "--json", str(container), str(bad))
    assert status == 1
    report = json.loads(out)
    assert [row["verdict"] for row in report["images"]] == ["container"]
    assert report["failed"] == [str(bad)] and report["threshold"] == threshold
    assert "error: " + str(bad) + ": cannot read image" in err


def test_reveal_warns_when_the_container_looks_like_a_clean_photo(capsys, photos, container,
                                                                  tmp_path, tiny_run):
    _, clean, _ = photos
    out = tmp_path / "from-clean.png"
    status, _, err = run(capsys, "reveal", str(clean), "--out", str(out), "--model", "fast")
    assert status == 0 and out.is_file()  # written all the same
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1, err
    assert warnings[0].startswith("warning: the container scores ")
    assert "it looks like a photo with no secret" in warnings[0]
    status, _, err = run(capsys, "reveal", str(container), "--out",
                         str(tmp_path / "from-container.png"), "--model", "fast")
    assert status == 0 and "warning" not in err, err
    # No check for a model the detector did not learn, nor with --quiet.
    status, _, err = run(capsys, "reveal", str(clean), "--out", str(tmp_path / "tiny.png"),
                         "--model", str(tiny_run))
    assert status == 0 and "warning" not in err, err
    status, _, err = run(capsys, "--quiet", "reveal", str(clean), "--out",
                         str(tmp_path / "quiet.png"), "--model", "fast")
    assert status == 0 and err == ""
    # In folder mode, the warning names the file.
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(clean, folder / "clean.png")
    shutil.copy(container, folder / "container.png")
    status, _, err = run(capsys, "reveal", str(folder), "--out-dir", str(tmp_path / "r"),
                         "--model", "fast")
    assert status == 0, err
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "warning: clean.png: the container scores" in warnings[0], err


def test_a_detector_saved_and_loaded_scores_as_the_library_does(tmp_path, monkeypatch,
                                                                 capsys, photos):
    model = attacks.build_detector(width=4, depth=1, seed=0)
    card_path = detection.save(model, {"architecture": {"width": 4, "depth": 1},
                                       "threshold": 0.5, "command": "test"}, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["detector.json",
                                                          "detector.weights.h5"]
    loaded, info = detection.load(card_path)
    assert info["kind"] == "detector" and info["threshold"] == 0.5
    rng = np.random.default_rng(0)
    image = rng.random((300, 520, 3), dtype=np.float32)
    assert detection.score(loaded, image) == pytest.approx(detection.score(model, image))
    # A crop of one tile scores what chapter 7's detector_scores gives.
    crop = image[:64, :64]
    assert detection.score(model, crop) == pytest.approx(
        float(attacks.detector_scores(model, crop[np.newaxis])[0]), rel=1e-5)
    # A large image: at most MAX_TILES tiles are scored (the one-pixel sliver is dropped).
    calls = []

    def counting(batch, training=False):
        calls.append(batch.shape)
        return model(batch, training=training)

    big = np.zeros((detection.TILE * 5 + 1, detection.TILE * 5, 3), np.uint8)
    detection.score(counting, big)
    assert len(calls) == detection.MAX_TILES and all(s[1] == detection.TILE for s in calls)
    # The detector's card is never listed as a hiding model.
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path)
    assert pretrained.list() == []
    with pytest.raises(ValueError, match="taken by the steganalysis detector"):
        pretrained.export(tmp_path, "detector")
    # The command line reads any detector card.
    status, out, err = run(capsys, "detect", "--json", "--detector", str(card_path),
                           str(photos[1]))
    assert status == 0, err
    (row,) = json.loads(out)["images"]
    expected = detection.score(model, data.load_image(photos[1]))
    assert row["score"] == pytest.approx(expected, rel=1e-5)
