"""The reproduction table: this book's rows come from the model cards and the results files."""

import json

import pytest

from stegutils import pretrained, reproduction

CARD = {
    "name": "probe",
    "variant": "fast",
    "weights": "probe.weights.h5",
    "sha256": "0" * 64,  # a valid card; the table never reads the weights
    "config": {"variant": "fast", "size": 48, "batch_size": 6, "steps": 1234,
               "data": "bsds500", "pairs": "random-crop", "val_photos": 7},
    "parameters": {"total": 98765},
    "machine": {"cpu": "Test CPU", "cpus": 3, "gpus": [], "tensorflow": "9.9"},
    "training": {"data": "bsds500", "split": "train", "step": 1000, "images_seen": 6000,
                 "train_seconds": 754.0, "commands": ["stegutils train --probe"]},
    "heldout": {"data": {"source": "bsds500", "split": "test"},
                "sizes": {"64": {"images": 11, "cover_mpe": 9.8765, "cover_psnr": 21.2345,
                                 "secret_mpe": 8.7654, "secret_psnr": 22.3456}},
                "command": "python benchmarks/quality.py --models probe"},
}
QUALITY = {
    "data": {"source": "bsds500", "split": "test", "containers": "8-bit PNG"},
    "models": {"probe": {"variant": "fast", "sizes": {
        "64": {"images": 17, "cover_mpe": 1.2345, "cover_psnr": 41.2345,
               "secret_mpe": 2.3456, "secret_psnr": 37.6543},
        "256": {"images": 5, "cover_mpe": 1.1111, "cover_psnr": 42.2222,
                "secret_mpe": 2.2222, "secret_psnr": 38.3333}}}},
}


@pytest.fixture()
def shipped(tmp_path, monkeypatch):
    """A weights folder with one model, 'probe', and a results folder for it."""
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "probe.json").write_text(json.dumps(CARD))
    (weights / "probe.weights.h5").write_bytes(b"not read by the table")
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", weights)
    results = tmp_path / "results"
    results.mkdir()
    (results / "quality.json").write_text(json.dumps(QUALITY))
    return weights, results


def _book_row(results, **kwargs):
    rows = reproduction.book_rows(results_dir=results, **kwargs)
    assert [row["name"] for row in rows] == ["probe"]
    return rows[0]


def test_a_shipped_models_quality_is_read_from_quality_json(shipped):
    _, results = shipped
    row = _book_row(results)
    assert row["cover"] == "mean pixel error 1.23, 41.23 dB PSNR"
    assert row["secret"] == "mean pixel error 2.35, 37.65 dB PSNR"
    assert row["measured_on"].startswith("17 pairs of 64x64 crops of BSDS500 test photos")
    assert "8-bit PNG" in row["measured_on"]


def test_changing_the_results_file_changes_the_table(shipped):
    _, results = shipped
    changed = json.loads(json.dumps(QUALITY))
    changed["models"]["probe"]["sizes"]["64"]["secret_psnr"] = 12.3456
    (results / "quality.json").write_text(json.dumps(changed))
    assert "12.35 dB PSNR" in _book_row(results)["secret"]


def test_the_training_columns_come_from_the_model_card(shipped):
    _, results = shipped
    row = _book_row(results)
    assert row["data"] == ("BSDS500 train, random 48x48 crops (7 photos held out to pick the "
                           "best checkpoint)")
    assert row["architecture"] == "`fast`, 98,765 parameters"
    assert row["budget"] == ("1,000 of 1,234 steps (best checkpoint), batch 6 "
                             "(6,000 pairs seen)")
    assert row["time"] == "12.6 minutes on a 3-core CPU (Test CPU, TensorFlow 9.9)"


def test_another_size_is_read_from_its_own_entry(shipped):
    _, results = shipped
    row = _book_row(results, size=256)
    assert row["cover"] == "mean pixel error 1.11, 42.22 dB PSNR"
    assert row["measured_on"].startswith("5 pairs of 256x256 crops")


def test_without_a_quality_entry_the_cards_own_measurement_is_used(shipped):
    _, results = shipped
    (results / "quality.json").write_text(json.dumps({"models": {}}))
    row = _book_row(results)
    assert row["cover"] == "mean pixel error 9.88, 21.23 dB PSNR"
    assert row["measured_on"].startswith("11 pairs")


def test_a_model_never_measured_says_not_measured(shipped):
    weights, results = shipped
    card = dict(CARD)
    del card["heldout"]
    card["training"] = {}
    (weights / "probe.json").write_text(json.dumps(card))
    (results / "quality.json").unlink()
    row = _book_row(results)
    for key in ("cover", "secret", "measured_on", "budget", "time"):
        assert row[key] == reproduction.NOT_MEASURED, key


def test_a_new_shipped_model_gets_its_row_without_code_changes(shipped):
    weights, results = shipped
    seed_card = dict(CARD, name="seed", variant="seed",
                     config=dict(CARD["config"], variant="seed", pairs="seed-recipe", size=80))
    (weights / "seed.json").write_text(json.dumps(seed_card))
    (weights / "seed.weights.h5").write_bytes(b"x")
    rows = reproduction.book_rows(results_dir=results)
    assert [row["name"] for row in rows] == ["probe", "seed"]
    assert "the blog post's recipe" in rows[1]["data"] and "80x80" in rows[1]["data"]


def test_the_table_has_the_cited_rows_first_with_their_citations(shipped):
    _, results = shipped
    table = reproduction.markdown_table(reproduction.rows(results_dir=results),
                                        reproduction.QUALITY_COLUMNS)
    lines = table.splitlines()
    assert len(lines) == 2 + len(reproduction.CITED) + 1
    assert "{cite:p}`baluja2017hiding`" in lines[3] and "2.8" in lines[3] and "3.6" in lines[3]
    assert lines[-1].startswith("| This book: `probe` |")


def test_cited_keys_exist_in_the_bibliography():
    from pathlib import Path

    bib = (Path(__file__).resolve().parents[1] / "references.bib").read_text()
    for row in reproduction.CITED:
        assert "{" + row["cite"] + "," in bib, row["cite"]


def test_the_shipped_models_rows_match_the_committed_results():
    # Against the repository's own files: every shipped model has a row, and its numbers
    # are those of benchmarks/results/quality.json, formatted.
    quality = reproduction.load_result("quality.json")
    if quality is None:
        pytest.skip("no benchmarks/results/quality.json")
    for row in reproduction.book_rows():
        summary = quality["models"].get(row["name"], {}).get("sizes", {}).get("64")
        if summary is None:
            continue
        assert f"{summary['cover_psnr']:.2f} dB" in row["cover"]
        assert f"{summary['secret_mpe']:.2f}" in row["secret"]


def test_speed_rows_are_read_from_speed_json(tmp_path):
    (tmp_path / "speed.json").write_text(json.dumps({
        "command": "python benchmarks/speed.py", "train_size": 64, "latency_size": 256,
        "batch_size": 8, "machine": {"cpus": 2, "cpu": "X"},
        "rows": [{"variant": "fast", "precision": "float32",
                  "train_images_per_second": 45.5, "hide_reveal_256_seconds": 0.125}]}))
    (row,) = reproduction.speed_rows(results_dir=tmp_path)
    assert row["train_images_per_second"] == 45.5 and row["hide_reveal_seconds"] == 0.125
    assert row["machine"] == "a 2-core CPU (X)"
    assert reproduction.speed_rows(results_dir=tmp_path / "missing") == []


def test_a_warm_started_model_shows_its_total_and_each_runs_share(shipped):
    weights, results = shipped
    card = json.loads((weights / "probe.json").read_text())
    card["training"].update(
        step=1500, images_seen=9000, train_seconds=1000.0,
        stages=[{"step": 1000, "lr": 0.001}, {"step": 500, "lr": 0.0004}],
        warm_start={"from": "probe", "sha256": "0" * 64})
    (weights / "probe.json").write_text(json.dumps(card))
    row = _book_row(results)
    assert row["budget"] == ("1,500 steps in 2 runs, each warm-started from the last "
                             "(1,000 at lr 0.001, then 500 at lr 0.0004), batch 6 "
                             "(9,000 pairs seen)")
