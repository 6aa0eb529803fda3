"""benchmarks/quality.py: intervals, the cross-collection figure, paired differences."""

import json
import shutil

import numpy as np
import pytest

from scripts import load_script


def _script(name):
    return load_script(f"benchmarks/{name}.py", f"{name}_benchmark")


@pytest.fixture(scope="module")
def quality():
    return _script("quality")


def _report(rng, count, *, cover_psnr, secret_psnr, cover_mpe, secret_mpe):
    def values(centre):
        return centre + rng.normal(0, 0.5, count)

    return {"cover_mpe": values(cover_mpe), "cover_psnr": values(cover_psnr),
            "cover_ssim": np.clip(values(0.9) / 10, 0, 1),
            "secret_mpe": values(secret_mpe), "secret_psnr": values(secret_psnr),
            "secret_ssim": np.clip(values(0.9) / 10, 0, 1)}


def test_each_figure_has_its_mean_and_95_percent_interval(quality):
    from stegutils import verdicts

    report = _report(np.random.default_rng(0), 40, cover_psnr=36, secret_psnr=33,
                     cover_mpe=3, secret_mpe=4)
    summary = quality.summarise(report)
    for key, values in report.items():
        interval = verdicts.interval_of_values(values)
        assert summary[key] == pytest.approx(np.mean(values))
        assert summary[f"{key}_low"] == pytest.approx(interval.low)
        assert summary[f"{key}_high"] == pytest.approx(interval.high)
        assert summary[f"{key}_low"] < summary[key] < summary[f"{key}_high"]
    assert summary["images"] == 40


def test_paired_differences_and_their_verdicts(quality):
    rng = np.random.default_rng(1)
    worse = _report(rng, 50, cover_psnr=36, secret_psnr=33, cover_mpe=3.2, secret_mpe=4.4)
    better = {key: values.copy() for key, values in worse.items()}
    for term in ("cover", "secret"):
        better[f"{term}_psnr"] += 2.0 + rng.normal(0, 0.1, 50)
        better[f"{term}_mpe"] -= 0.8 + rng.normal(0, 0.05, 50)
    difference = quality.paired_difference(better, worse)
    assert difference["cover_psnr"] == pytest.approx(
        np.mean(better["cover_psnr"] - worse["cover_psnr"]))
    verdict = quality.compare("better", "worse", difference)
    assert verdict == {"terms": {"cover": "better", "secret": "better"},
                       "both_terms_better": True}
    backwards = quality.compare("worse", "better", quality.paired_difference(worse, better))
    assert backwards["terms"] == {"cover": "worse", "secret": "worse"}
    # The same model against itself: zero difference, no verdict either way.
    same = quality.compare("a", "a", quality.paired_difference(worse, worse))
    assert same["terms"] == {"cover": "no clear difference", "secret": "no clear difference"}
    assert not same["both_terms_better"]
    # Better PSNR with a worse mean pixel error is not "better".
    mixed = dict(difference, cover_mpe_low=0.1, cover_mpe_high=0.3)
    assert quality.term_verdict(mixed, "cover") == "no clear difference"
    with pytest.raises(ValueError, match="same pairs"):
        quality.paired_difference(better, {k: v[:-1] for k, v in worse.items()})


def test_the_unpaired_drop_and_the_papers_figures(quality):
    from stegutils import reproduction, verdicts

    rng = np.random.default_rng(2)
    home = _report(rng, 60, cover_psnr=38, secret_psnr=36, cover_mpe=2.4, secret_mpe=3.0)
    away = _report(rng, 30, cover_psnr=36, secret_psnr=33, cover_mpe=2.8, secret_mpe=4.0)
    drop = quality.unpaired_difference(away, home)
    a, b = away["secret_psnr"], home["secret_psnr"]
    expected = verdicts.difference_interval(a.mean(), a.std(ddof=1), a.size,
                                            b.mean(), b.std(ddof=1), b.size)
    assert (drop["secret_psnr"], drop["secret_psnr_low"], drop["secret_psnr_high"]) == (
        pytest.approx(expected.value), pytest.approx(expected.low), pytest.approx(expected.high))
    assert drop["secret_psnr_high"] < 0
    paper = reproduction.PAPER_MEAN_PIXEL_ERROR
    summary = {"cover_mpe_low": paper["cover"] - 0.3, "cover_mpe_high": paper["cover"] - 0.1,
               "secret_mpe_low": paper["secret"] - 0.1, "secret_mpe_high": paper["secret"] + 0.1}
    assert quality.against_paper(summary) == {"cover": "below", "secret": "within the spread",
                                              "both_terms_below": False}


def test_a_quick_run_writes_intervals_cross_collection_and_a_comparison(
        quality, tiny_run, photo_folder, tmp_path, monkeypatch, capsys):
    from stegutils import data

    other = tmp_path / "tiny-copy"
    shutil.copytree(tiny_run, other)
    real_photos = data.photos

    def photos(source="builtin", split="train", **options):
        # No BSDS500 in the tests: small photos stand in for its test split.
        if source == "bsds500":
            return real_photos(str(photo_folder), split)
        return real_photos(source, split, **options)

    monkeypatch.setattr(quality.data, "photos", photos)
    out = tmp_path / "quality.json"
    quality.main(["--models", str(tiny_run), str(other), "--sizes", "16", "--quick",
                  "--compare", tiny_run.name, other.name, "--out", str(out)])
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["cross_collection_data"]["source"] == "builtin"
    assert result["cross_collection_data"]["photos"] == len(data.builtin_photos())
    entry = result["models"][tiny_run.name]
    at16 = entry["sizes"]["16"]
    assert at16["images"] == 4
    for key in ("cover_psnr", "secret_psnr", "cover_mpe", "secret_mpe", "cover_ssim"):
        assert at16[f"{key}_low"] <= at16[key] <= at16[f"{key}_high"]
    cross = entry["cross_collection"][str(quality.CROSS_SIZE)]
    assert cross["images"] == quality.QUICK_CROSS_COUNT
    assert cross["secret_psnr_low"] <= cross["secret_psnr"] <= cross["secret_psnr_high"]
    assert set(entry["paper"]) == {"bsds500 16", f"builtin {quality.CROSS_SIZE}"}
    comparison = result["comparisons"][f"{tiny_run.name} - {other.name}"]
    # The same weights twice: every paired difference is zero and nothing is better.
    assert comparison["bsds500 16"]["difference"]["secret_psnr"] == 0
    assert comparison["bsds500 16"]["terms"]["cover"] == "no clear difference"
    assert comparison["both_terms_better_on_bsds500_test"] is False
    assert "built-in" in printed and "[" in printed


def test_quick_mode_never_writes_the_books_file(quality):
    with pytest.raises(SystemExit):
        quality.main(["--quick"])
    with pytest.raises(SystemExit):
        quality.main(["--quick", "--out", "x.json", "--update-cards"])
