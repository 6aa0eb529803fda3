"""The default model: what the library, its card, the command line and the measured
comparison say it is."""

from pathlib import Path

import numpy as np
from PIL import Image

from stegutils import cli, data, pretrained, results

ROOT = Path(__file__).resolve().parents[1]


def test_the_default_is_a_shipped_model_whose_card_names_it():
    assert pretrained.DEFAULT_MODEL in pretrained.list()
    card = pretrained.card(pretrained.DEFAULT_MODEL)
    assert card["name"] == pretrained.DEFAULT_MODEL
    assert card["variant"] == "invertible"
    # fast stays shipped: chapters 3 to 8 load it by name.
    assert "fast" in pretrained.list()


def test_the_measured_comparison_backs_the_default():
    quality = results.load("quality.json")
    assert quality is not None
    comparison = quality["comparisons"][f"{pretrained.DEFAULT_MODEL} - fast"]
    assert comparison["both_terms_better_on_bsds500_test"] is True
    held_out = [where for where in comparison if where.startswith("bsds500 ")]
    assert held_out
    for where in held_out:
        assert comparison[where]["terms"] == {"cover": "better", "secret": "better"}
        difference = comparison[where]["difference"]
        for term in ("cover", "secret"):
            assert difference[f"{term}_psnr_low"] > 0 and difference[f"{term}_mpe_high"] < 0


def test_the_command_line_lists_and_uses_the_default(capsys, tmp_path):
    assert cli.main(["models"]) == 0
    listing = capsys.readouterr().out
    assert f"  {pretrained.DEFAULT_MODEL} (default): variant" in listing
    assert "  fast: variant fast" in listing

    rng = np.random.default_rng(0)
    cover, secret = tmp_path / "cover.png", tmp_path / "secret.png"
    data.save_image(cover, rng.random((96, 96, 3)))
    data.save_image(secret, rng.random((96, 96, 3)))
    container = tmp_path / "container.png"
    assert cli.main(["hide", "--cover", str(cover), "--secret", str(secret),
                     "--out", str(container)]) == 0
    assert f"(model {pretrained.DEFAULT_MODEL})" in capsys.readouterr().err
    net, _ = pretrained.load(pretrained.DEFAULT_MODEL)
    expected = net.hide(cover=data.load_image(cover), secret=data.load_image(secret))
    stored = np.asarray(Image.open(container))
    np.testing.assert_array_equal(stored, data.to_uint8(expected))


def test_the_playground_opens_the_default(monkeypatch):
    from stegutils import widgets

    photos = {"a": np.full((32, 32, 3), 0.5, np.float32),
              "b": np.full((32, 32, 3), 0.25, np.float32)}
    pg = widgets.playground(photos=photos, working_size=32, precision="float32")
    assert pg.model_picker.value == pretrained.DEFAULT_MODEL


def test_the_readme_names_the_default():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"`{pretrained.DEFAULT_MODEL}`, the default" in readme
