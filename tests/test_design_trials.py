"""benchmarks/design_trials.py: the record of the design trials, from run folders."""

import json
import shutil

import numpy as np
import pytest

from stegutils import data, train

from scripts import load_script


def held_out_photos(config):
    return train.split_validation(data.photos(config.data, "train"), config.val_photos)[1]


@pytest.fixture(scope="module")
def trials():
    return load_script("benchmarks/design_trials.py", "design_trials_benchmark")


def test_the_validation_rule_is_the_trainers(tiny_run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_run, copy)  # a Trainer on a run folder resumes it: not the shared one
    config = train.load_config(copy)
    trainer_photos = train.Trainer(config, copy)
    photos = data.photos(config.data, "train")
    held_out = train.split_validation(photos, config.val_photos)[1]
    assert len(held_out) == min(config.val_photos, len(photos) // 5) >= 1
    for ours, theirs in zip(train.validation_pairs(held_out, config),
                            trainer_photos.validation_pairs()):
        np.testing.assert_array_equal(ours, theirs)
    assert train.split_validation(list(range(4)), 10) == ([0, 1, 2, 3], [])
    assert train.split_validation(list(range(10)), 1) == (list(range(9)), [9])


def test_the_record_names_designs_steps_times_and_validation(trials, tiny_run, tmp_path,
                                                             capsys):
    twin = tmp_path / "tiny-twin"
    shutil.copytree(tiny_run, twin)
    out = tmp_path / "design_trials.json"
    trials.main([str(tiny_run), str(twin), "--shipped", "--out", str(out)])
    text = out.read_text()
    result = json.loads(text)
    assert str(tmp_path) not in text and str(tiny_run.parent) not in text
    assert set(result["runs"]) == {tiny_run.name, twin.name}
    record = result["runs"][tiny_run.name]
    config = train.load_config(tiny_run)
    assert record["design"]["variant"] == "fast"
    assert record["design"]["variant_options"] == config.variant_options
    assert record["design"]["beta"] == config.beta and record["design"]["lr"] == config.lr
    assert record["steps"] == config.steps
    assert record["train_seconds"] > 0 and record["wall_seconds"] > 0
    assert record["ran_alongside"] == [twin.name]  # the copy has the same time stamps
    validation = record["validation"]
    assert validation["pairs"] == train.VALIDATION_PAIRS
    assert validation["val_loss_low"] <= validation["val_loss"] <= validation["val_loss_high"]
    # Measured again by the trainer's rule, the run's own best validation loss comes back.
    assert abs(validation["best_json_val_loss_difference"]) < 1e-6
    race = result["equal_wall_time_race"]
    assert race["same_wall_time"] and set(race["trials"]) == {tiny_run.name, twin.name}
    (behind,) = race["behind_winner"].values()
    assert behind["val_loss"] == 0 and not behind["clearly_behind"]
    assert result["validation"]["photos"] == len(held_out_photos(config))
    assert "validation cover" in capsys.readouterr().out


def test_update_shipped_measures_the_shipped_models_again_and_keeps_the_runs(
        trials, tiny_run, photo_folder, tmp_path, monkeypatch, capsys):
    from stegutils import pretrained

    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path / "weights")
    pretrained.export(tiny_run, "tiny")
    run = tmp_path / "trial"
    shutil.copytree(tiny_run, run)
    out = tmp_path / "design_trials.json"
    trials.main([str(run), "--shipped", "tiny", "--out", str(out)])
    first = json.loads(out.read_text())
    shutil.rmtree(run)  # the run folders are gone; the shipped model is all there is

    # The file keeps a photo folder's name only: without the folder, a clear error.
    with pytest.raises(SystemExit, match="give them with --data"):
        trials.main(["--update-shipped", "--out", str(out)])
    trials.main(["--update-shipped", "--data", str(photo_folder), "--out", str(out)])
    again = json.loads(out.read_text())
    assert again["runs"] == first["runs"] and again["command"] == first["command"]
    assert again["shipped_command"].startswith("python benchmarks/design_trials.py "
                                               "--update-shipped --data ")
    # The photo folder by its name, as a card writes it, not as a run folder.
    assert f"--data {photo_folder.name} " in again["shipped_command"]
    assert str(tmp_path) not in out.read_text()
    # The same weights on the same pairs, rebuilt from the recorded design: the same figures.
    for key in ("val_loss", "cover_psnr", "secret_psnr"):
        assert again["shipped"]["tiny"]["validation"][key] == pytest.approx(
            first["shipped"]["tiny"]["validation"][key], abs=1e-6)
    assert again["shipped"]["tiny"]["sha256"] == pretrained.card("tiny")["sha256"]

    with pytest.raises(SystemExit):
        trials.main(["--update-shipped", str(tiny_run), "--out", str(out)])
    assert "give no run folders" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        trials.main(["--update-shipped", "--out", str(tmp_path / "none.json")])
    assert "needs an existing none.json" in capsys.readouterr().err
