"""benchmarks/invertible.py: float against PNG containers, and paired model comparisons."""

import json
import shutil

import numpy as np
import pytest

from scripts import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("benchmarks/invertible.py", "invertible_benchmark")


def _reports(values):
    keys = ("cover_psnr", "secret_psnr", "cover_mpe", "secret_mpe", "cover_ssim",
            "secret_ssim")
    return {mode: {key: np.asarray(values[mode], np.float64) for key in keys}
            for mode in ("float", "png")}


def test_compare_is_paired_pair_by_pair(bench):
    rng = np.random.default_rng(0)
    base = rng.normal(30, 3, 40)  # a large spread between pairs ...
    shift = 0.5 + rng.normal(0, 0.05, 40)  # ... and a small, steady difference
    a = _reports({"float": base + shift, "png": base - shift})
    b = _reports({"float": base, "png": base})
    difference = bench.compare(a, b)
    assert difference["float"]["secret_psnr"]["mean"] == pytest.approx(shift.mean())
    assert difference["png"]["secret_psnr"]["mean"] == pytest.approx(-shift.mean())
    # paired: the interval reflects the spread of the differences, not of the pairs
    assert difference["float"]["secret_psnr"]["ci95"] == pytest.approx(
        1.96 * shift.std(ddof=1) / np.sqrt(40))
    assert difference["float"]["secret_psnr"]["ci95"] < 0.1
    with pytest.raises(ValueError, match="different pairs"):
        bench.compare(a, _reports({"float": base[:10], "png": base[:10]}))


def test_main_records_models_their_training_and_comparisons(bench, tiny_run, tmp_path,
                                                            capsys):
    a, b = tmp_path / "twin-a", tmp_path / "twin-b"
    shutil.copytree(tiny_run, a)
    shutil.copytree(tiny_run, b)
    out = tmp_path / "invertible.json"
    common = ["--sizes", "16", "--count", "4", "--photos", "validation", "--out", str(out)]
    bench.main(["--models", str(a), str(b), "--compare", "twin-a", "twin-b", *common])
    results = json.loads(out.read_text())
    assert set(results["models"]) == {"twin-a", "twin-b"}
    entry = results["models"]["twin-a"]
    assert entry["quantize_in_training"] is True and entry["steps"] == 6
    assert entry["chosen_step"] in (3, 6)
    (comparison,) = results["comparisons"]
    assert (comparison["a"], comparison["b"], comparison["size"]) == ("twin-a", "twin-b", 16)
    for mode in ("float", "png"):
        # the same weights on the same pairs: every paired difference is exactly zero
        assert comparison["difference"][mode]["secret_psnr"]["mean"] == 0.0
        assert comparison["difference"][mode]["cover_psnr"]["n"] == 4
    assert "twin-a - twin-b   16px png" in capsys.readouterr().out

    # a later invocation keeps what it did not remeasure, and replaces what it did
    bench.main(["--models", str(a), *common])
    again = json.loads(out.read_text())
    assert set(again["models"]) == {"twin-a", "twin-b"} and len(again["comparisons"]) == 1

    with pytest.raises(SystemExit):
        bench.main(["--models", str(a), "--compare", "twin-a", "nosuch", *common])
    assert "nosuch not among --models" in capsys.readouterr().err
