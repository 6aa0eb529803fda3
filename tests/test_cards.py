"""Model cards say what a model is for, how it fails and what it learnt from.

Every number in those fields is read from a measured field and named with the command
that measured it; the shipped cards' text is what their figures give now.
"""

import json
import pathlib
import re

import pytest

from stegutils import cards, pretrained

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHIPPED = pretrained.list()


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_card_describes_use_limitations_and_data_as_its_figures_give(name):
    card = pretrained.card(name)
    described = cards.describe(card)
    for field in cards.FIELDS:
        assert card.get(field) == described[field], (
            f"{name}.json's {field} is out of date: python benchmarks/cards.py --models {name}")


@pytest.mark.parametrize("name", SHIPPED)
def test_every_number_in_a_limitation_is_one_it_read_from_a_measured_field(name):
    for limitation in pretrained.card(name)["limitations"]:
        text = limitation["text"]
        if text.startswith("not measured"):
            assert "measured" not in limitation
            continue
        assert limitation["source"] and limitation["command"], limitation
        measured = [value for value in limitation["measured"].values()
                    if isinstance(value, (int, float))]
        # The figures quoted, and the losses between two of them (dB lost).
        allowed = set()
        for value in measured:
            allowed |= {f"{value:.{digits}f}" for digits in range(4)}
            allowed |= {f"{abs(value - other):.{digits}f}" for other in measured
                        for digits in range(3)}
        for number in re.findall(r"-?\d+\.\d+", text):
            assert number in allowed, (name, number, text)


def test_the_training_data_licence_and_citation_are_what_the_project_knows():
    bib = (ROOT / "references.bib").read_text(encoding="utf-8")
    entry = re.search(r"@article\{arbelaez2011contour,(.*?)\n\}", bib, flags=re.S)[1]
    bsds = cards.TRAINING_DATA["bsds500"]
    citation = bsds["citation"]
    assert citation["bibtex_key"] == "arbelaez2011contour"
    for key in ("volume", "number", "pages", "year", "doi"):
        value = re.search(rf"{key}\s*=\s*\{{(.*?)\}}", entry)[1].replace("--", "-")
        assert value in citation["text"], key
    for surname in ("Maire", "Fowlkes", "Malik"):
        assert surname in citation["text"]
    # The project states no licence for BSDS500, so the card claims none.
    assert bsds["licence"].startswith("not stated by this project")
    for name in SHIPPED:
        card = pretrained.card(name)
        assert card["config"]["data"] == "bsds500"
        assert card["training_data"]["citation"] == citation


def test_a_robust_card_says_it_is_meant_for_lossy_channels_and_fast_does_not():
    if not {"robust", "fast"} <= set(SHIPPED):
        pytest.skip("robust and fast are not both shipped")
    assert "JPEG" in pretrained.card("robust")["intended_use"]["use"]
    assert "JPEG" not in pretrained.card("fast")["intended_use"]["use"]


def test_an_unmeasured_card_says_what_to_run():
    card = {"name": "new", "config": {"data": "/photos/mine"}, "sha256": "0" * 64,
            "training": {"split": "train", "validation": None}}
    described = cards.describe(card, detector={}, failures={})
    texts = {limitation["failure"]: limitation["text"] for limitation in
             described["limitations"]}
    assert texts["JPEG compression"] == ("not measured yet: run python benchmarks/channel.py "
                                         "--models new --update-cards")
    assert "benchmarks/quality.py --models new" in texts["other photos"]
    assert texts["detection"].startswith("not measured")
    assert described["training_data"]["licence"].startswith("not recorded")
    json.dumps(described)  # a card is JSON


def test_an_exported_card_carries_the_fields(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path / "weights")
    card = pretrained.card(pretrained.export(tiny_run, "tiny").stem)
    assert set(cards.FIELDS) <= set(card)
    assert card["training_data"]["name"] == "a folder of photos of the trainer's own"
