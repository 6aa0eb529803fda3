"""The run folder's one owner (stegutils.runs): its files, its split, its records."""

import json

import pytest

from conftest import TINY_FAST
from stegutils import cli, pretrained, runs, train
from stegutils.runs import RunDir, ValidationSplit


def test_the_validation_rule_holds_out_the_last_photos_at_most_a_fifth():
    kept, held, split = ValidationSplit.of(list(range(9)), 10, order="sorted by name")
    assert (kept, held) == (list(range(8)), [8])  # 9 // 5 = 1, not 10
    assert split == ValidationSplit(held_out=1, total=9, order="sorted by name")
    assert split.sentence() == ("the last 1 training photo (sorted by name), held out from "
                                "training, chose the best checkpoint")
    assert ValidationSplit.of(list(range(4)), 10)[2].sentence() is None
    assert runs.split_validation(list(range(10)), 1) == (list(range(9)), [9])
    assert ValidationSplit.order_of("builtin") != ValidationSplit.order_of("bsds500")


def test_the_card_says_how_many_photos_the_run_held_out(tiny_run, tmp_path, monkeypatch):
    # tiny_run asks for 2 of its 8 photos; the rule holds out 8 // 5 = 1.
    assert train.load_config(tiny_run).val_photos == 2
    assert RunDir(tiny_run).split() == ValidationSplit(1, 8, "sorted by name")
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path / "weights")
    card = pretrained.card(pretrained.export(tiny_run, "tiny").stem)
    assert card["training"]["validation"].startswith("the last 1 training photo (sorted")
    assert card["training"]["validation_photos"] == 1


def test_a_builtin_run_card_describes_the_split_it_made(tmp_path, monkeypatch):
    from stegutils import data

    photos = data.photos("builtin", "train")
    config = train.Config(variant="fast", variant_options=TINY_FAST, size=16, batch_size=2, steps=1, log_every=1, eval_every=1,
                          checkpoint_every=1, precision="float32", data="builtin")
    trainer = train.Trainer(config, tmp_path / "run")
    held_out = min(config.val_photos, len(photos) // 5)
    assert len(trainer._val_images) == held_out >= 1
    trainer.fit(progress=False)
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path / "weights")
    card = pretrained.card(pretrained.export(tmp_path / "run", "b").stem)
    assert card["training"]["validation"] == (
        f"the last {held_out} training photo{'s' if held_out > 1 else ''} (in the order of "
        "stegutils.data.BUILTIN_PHOTOS), held out from training, chose the best checkpoint")
    assert "sorted by name" not in card["training"]["validation"]


def test_a_run_folder_records_and_reads_its_commands(tmp_path):
    folder = RunDir(tmp_path / "run")
    folder.path.mkdir()
    folder.record_command(["stegutils", "train", "--run-dir", "r"], step=0)
    folder.record_command(["stegutils", "train", "--resume"], step=6, changed={"lr": [1, 2]})
    assert folder.commands() == [["stegutils", "train", "--run-dir", "r"],
                                 ["stegutils", "train", "--resume"]]
    lines = [json.loads(line) for line in folder.commands_path.read_text().splitlines()]
    assert lines[1] == {"argv": ["stegutils", "train", "--resume"], "step": 6,
                        "changed": {"lr": [1, 2]}}
    folder.commands_path.write_text('{"argv": ["a"]}\n{"argv": [')
    with pytest.raises(ValueError, match="line 2 \\(cut off\\?\\) is not a JSON object"):
        folder.commands()


def test_a_run_stands_for_its_best_weights_else_its_final_ones(tiny_run, tmp_path):
    assert RunDir(tiny_run).weights().name == "best.weights.h5"
    empty = RunDir(tmp_path)
    with pytest.raises(ValueError, match="holds no weights yet"):
        empty.weights()


@pytest.mark.parametrize("option, value, field, message", [
    ("--lr", "0", 0.0, "lr must be a positive number, got 0.0"),
    ("--beta", "0", 0.0, "beta must be a positive number, got 0.0"),
    ("--noise", "-1", -1.0, "noise must be >= 0, got -1.0"),
    ("--val-photos", "-1", -1, "val_photos must be a non-negative integer, got -1"),
    ("--clipnorm", "0", 0.0, "clipnorm must be a positive number or None, got 0.0"),
])
def test_the_command_line_refuses_what_config_refuses_in_configs_words(
        option, value, field, message, capsys, tmp_path):
    with pytest.raises(ValueError) as refused:
        runs.Config(**{option[2:].replace("-", "_"): field})
    assert str(refused.value) == message
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--run-dir", str(tmp_path / "r"), option, value])
    assert exit_info.value.code == 2
    assert f"error: argument {option}: {message}" in capsys.readouterr().err


def test_the_train_help_reads_its_defaults_from_config(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    defaults = runs.Config()
    for words in (f"learning rate ({defaults.lr:g})", f"secret weight ({defaults.beta:g})",
                  f"crop size ({defaults.size})", f"total steps ({defaults.steps})",
                  f"batch size ({defaults.batch_size})", f"({defaults.val_photos})"):
        assert words in help_text, words
