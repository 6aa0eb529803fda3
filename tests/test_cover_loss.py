"""benchmarks/cover_loss.py: the cover term's two forms, compared (chapter 10)."""

import numpy as np
import pytest

from scripts import load_script

bench = load_script("benchmarks/cover_loss.py", "cover_loss_benchmark")


def test_models_are_given_as_labels_and_names():
    assert bench.parse_models(["db=runs/a", "before=robust", "fast"]) == {
        "db": "runs/a", "before": "robust", "fast": "fast"}
    assert list(bench.parse_models(["b=x", "a=y"])) == ["b", "a"]  # in the order given
    for bad, message in ((["a=x", "a=y"], "twice"), (["=x"], "LABEL=MODEL"),
                         (["a="], "LABEL=MODEL")):
        with pytest.raises(ValueError, match=message):
            bench.parse_models(bad)


def test_differences_pair_every_model_with_those_after_it():
    rng = np.random.default_rng(0)
    base = {key: rng.normal(25, 3, 50) for key in bench.MEASURES}
    shifted = {key: values + (1.0 if key == "cover_psnr" else -0.5)
               for key, values in base.items()}
    rows = bench.differences({"db": shifted, "mse": base, "other": base})
    assert list(rows) == ["db - mse", "db - other", "mse - other"]
    assert rows["db - mse"]["cover_psnr"]["mean"] == pytest.approx(1.0)
    assert rows["db - mse"]["jpeg75_secret_psnr"]["mean"] == pytest.approx(-0.5)
    # Paired: a constant shift has no spread, however spread out the pairs are.
    assert rows["db - mse"]["cover_psnr"]["high"] - rows["db - mse"]["cover_psnr"]["low"] < 1e-9
    assert rows["mse - other"]["secret_psnr"]["mean"] == 0.0


def test_the_summary_keeps_each_pairs_cover_and_its_percentiles():
    values = {"cover_psnr": np.arange(20.0, 40.0, 0.2), "secret_psnr": np.full(100, 22.0),
              "jpeg75_secret_psnr": np.full(100, 20.0)}
    entry = bench.summarise(values)
    assert len(entry["cover_psnr_per_pair"]) == 100
    assert entry["cover_psnr_percentiles"]["50"] == pytest.approx(np.median(values["cover_psnr"]))
    assert entry["cover_psnr"]["low"] < entry["cover_psnr"]["mean"] < entry["cover_psnr"]["high"]
    assert entry["jpeg75_secret_psnr"]["mean"] == pytest.approx(20.0)
