"""benchmarks/race.py: the long race, resumable, with its summary (on tiny images)."""

import json
import types

import numpy as np
import pytest

from conftest import smooth_photos
from scripts import load_script


@pytest.fixture
def race(monkeypatch):
    # Registered in sys.modules: its dataclass looks itself up.
    module = load_script("benchmarks/race.py", "race_benchmark", monkeypatch=monkeypatch)
    # Tiny images and photos, and two arms in our setting, so that the test is quick;
    # the logic (rounds, resuming, pairing, summary) is the real one.
    photos = {"train": smooth_photos(100, height=20, width=20, seed=1),
              "test": smooth_photos(100, height=20, width=20, seed=2)}
    monkeypatch.setattr(module.data, "photos", lambda source, split: photos[split])
    settings = {name: dict(spec) for name, spec in module.SETTINGS.items()}
    for name in ("blog", "blog-long"):
        settings[name]["config"] = dict(settings[name]["config"], size=16, batch_size=2)
    settings["ours"]["config"] = dict(settings["ours"]["config"], size=16, batch_size=2)
    settings["ours"]["arms"] = [module.Arm("dilated", 0.75), module.Arm("autodiff", 3.0)]
    monkeypatch.setattr(module, "SETTINGS", settings)
    module.test_photos = photos
    return module


def run(race, tmp_path, *extra):
    out = tmp_path / "race.json"
    status = race.main(["--work-dir", str(tmp_path / "runs"), "--settings", "ours",
                        "--seeds", "0", "1", "--eval-every", "2", "--manual-steps", "2",
                        "--out", str(out), *extra])
    return status, json.loads(out.read_text())


def test_race_runs_every_arm_resumes_and_summarizes(race, tmp_path):
    # A setting run earlier by another invocation stays in the file.
    # It keeps the command that wrote it (files from before each setting named its own).
    earlier = "python benchmarks/race.py --settings blog --blog-steps 9"
    (tmp_path / "race.json").write_text(json.dumps({"command": earlier,
                                                    "settings": {"blog": {"steps": 9}}}))
    status, result = run(race, tmp_path, "--ours-steps", "4")
    assert result["settings"]["blog"] == {"steps": 9, "command": earlier}
    assert status == 0
    assert result["command"].startswith("python benchmarks/race.py --work-dir RUNS ")
    assert result["settings"]["ours"]["command"] == result["command"]
    assert str(tmp_path) not in json.dumps(result)  # no path of this machine in the file
    ours = result["settings"]["ours"]
    assert ours["config"]["lr_schedule"] == "constant" and ours["config"]["size"] == 16
    assert 5 < ours["heldout_flat_secret_psnr"] < 40
    names = {r["name"] for r in ours["runs"]}
    assert names == {f"ours-{arm}-seed{seed}" for seed in (0, 1)
                     for arm in ("dilated-beta0.75", "autodiff-beta3", "manual-beta3")}
    for r in ours["runs"]:
        assert [rec["step"] for rec in r["records"]] == ([0, 2] if r["kind"] == "manual"
                                                         else [0, 2, 4])
        assert r["records"][0]["seconds_per_step"] is None  # the initial weights
        assert [rec["includes_tracing"] for rec in r["records"][1:]] == (
            [True] if r["kind"] == "manual" else [True, False])
        for rec in r["records"]:
            for split in ("train", "heldout"):
                figures = rec[split]
                assert 0 < figures["cover_psnr"] < 100 and 0 < figures["secret_psnr"] < 100
                assert figures["loss"] == pytest.approx(
                    figures["cover_mse"] + r["beta"] * figures["secret_mse"])
            if rec["step"]:
                assert rec["seconds_per_step"] > 0 and rec["segment_steps"] == 2

    summary = ours["summary"]
    assert summary["common_step"] == 4 and summary["diverged"] == []
    assert set(summary["arms"]) == {"dilated-beta0.75", "autodiff-beta3"}
    arm = summary["arms"]["autodiff-beta3"]
    assert arm["seeds"] == [0, 1] and len(arm["heldout"]["secret_psnr"]["values"]) == 2
    # Paired by seed against the first arm (dilated), figure by figure.
    pair = summary["paired_differences"]["autodiff-beta3 - dilated-beta0.75"]
    by_name = {r["name"]: r for r in ours["runs"]}
    expected = [by_name[f"ours-autodiff-beta3-seed{s}"]["records"][-1]["heldout"]["secret_psnr"]
                - by_name[f"ours-dilated-beta0.75-seed{s}"]["records"][-1]["heldout"]["secret_psnr"]
                for s in (0, 1)]
    assert pair["heldout"]["secret_psnr"]["values"] == pytest.approx(expected)
    # Step times leave out the segments that traced the step function.
    assert set(summary["seconds_per_step_by_round"]["autodiff-beta3"]) == {"4"}
    # The manual pass follows autodiff step for step, and the check says so.
    checks = summary["manual_against_autodiff"]
    assert [c["seed"] for c in checks] == [0, 1]
    assert all(c["last_step"] == 2 and c["largest_relative_loss_difference"] < 1e-4
               for c in checks)

    # Run again with a larger budget: the finished steps stay, the runs go on from them.
    before = {r["name"]: r["records"] for r in ours["runs"]}
    status, result = run(race, tmp_path, "--ours-steps", "6")
    assert status == 0
    for r in result["settings"]["ours"]["runs"]:
        assert r["records"][: len(before[r["name"]])] == before[r["name"]]
        assert [rec["step"] for rec in r["records"]] == ([0, 2] if r["kind"] == "manual"
                                                         else [0, 2, 4, 6])
    assert result["settings"]["ours"]["summary"]["common_step"] == 6


def test_blog_setting_trains_and_measures_on_its_fifty_fixed_pairs(race, tmp_path):
    args = race.argparse.Namespace(settings=["blog"], seeds=[0, 1], blog_steps=4, lr=1e-3,
                                   ours_steps=4, long_steps=4, eval_every=2, manual_steps=2)
    runs, floors = race.build_runs(args, tmp_path)
    assert [(r.arm.kind, r.seed) for r in runs] == [
        ("autodiff", 0), ("dilated", 0), ("manual", 0),
        ("autodiff", 1), ("dilated", 1), ("manual", 1)]
    first = runs[0]
    assert first.config.pairs == "seed-recipe" and first.config.beta == 1.0
    train_pairs = first.pairs["train"]
    assert train_pairs.secrets.shape == train_pairs.covers.shape == (50, 16, 16, 3)
    # The pairs measured as "training pairs" are the ones the trainer draws its batches from.
    secret, cover = next(iter(first._trainer().dataset()))
    for image, pool in ((secret, train_pairs.secrets), (cover, train_pairs.covers)):
        distances = np.abs(pool[None] - np.asarray(image)[:, None]).max(axis=(2, 3, 4))
        assert (distances.min(axis=1) < 1e-6).all()
    # Held out: BSDS500 test photos, the same for every seed.
    np.testing.assert_array_equal(runs[0].pairs["heldout"].secrets,
                                  runs[3].pairs["heldout"].secrets)
    assert 5 < floors["blog"] < 40


def test_blog_long_runs_autodiff_alone_on_the_blog_posts_pairs(race, tmp_path):
    args = race.argparse.Namespace(settings=["blog-long", "blog"], seeds=[0, 1],
                                   blog_steps=4, ours_steps=4, long_steps=6, lr=1e-3,
                                   eval_every=2, manual_steps=0)
    runs, floors = race.build_runs(args, tmp_path)
    long_runs = [r for r in runs if r.setting == "blog-long"]
    assert [(r.name, r.steps) for r in long_runs] == [
        ("blog-long-autodiff-beta1-seed0", 6), ("blog-long-autodiff-beta1-seed1", 6)]
    blog = {r.seed: r for r in runs if r.setting == "blog" and r.arm.kind == "autodiff"}
    for r in long_runs:
        # The same networks, pairs and held-out photos as the blog setting's autodiff arm.
        assert r.config.to_dict() | {"steps": 4} == blog[r.seed].config.to_dict()
        for split in ("train", "heldout"):
            np.testing.assert_array_equal(r.pairs[split].secrets,
                                          blog[r.seed].pairs[split].secrets)
    assert floors["blog-long"] == floors["blog"]


def test_race_refuses_one_seed(race, tmp_path):
    with pytest.raises(SystemExit):
        race.main(["--work-dir", str(tmp_path), "--seeds", "0"])


def test_a_run_stopped_between_segments_goes_on_to_the_segments_end(race, tmp_path):
    args = race.argparse.Namespace(settings=["ours"], seeds=[0, 1], blog_steps=4, lr=1e-3,
                                   ours_steps=4, long_steps=4, eval_every=2, manual_steps=0)
    runs, _ = race.build_runs(args, tmp_path)
    first = runs[0]
    assert first.advance()["step"] == 0  # the initial weights
    first._trainer().fit(3, progress=False)  # as if stopped at step 3 by Ctrl-C
    again, _ = race.build_runs(args, tmp_path)  # a new process: the records from disk
    record = again[0].advance()
    assert record["step"] == 4 and record["segment_steps"] == 1
    assert [r["step"] for r in again[0].records] == [0, 4]


def test_a_diverged_run_is_paired_at_the_last_step_every_run_measured(race):
    # Two arms, two seeds, measured every 2 steps; dilated seed 0 diverges after step 2.
    def record(step, secret):
        figures = {key: 1.0 for key in race.METRICS + ("cover_mse", "secret_mse")}
        return {"step": step, "train": dict(figures, secret_psnr=secret),
                "heldout": dict(figures, secret_psnr=secret)}

    def fake_run(kind, beta, seed, secrets, diverged=False):
        records = [record(2 * i, s) for i, s in enumerate(secrets)]
        if diverged:
            records.append({"diverged": True, "message": "training diverged at step 3"})
        return types.SimpleNamespace(
            setting="ours", arm=race.Arm(kind, beta), seed=seed, eval_every=2,
            name=f"ours-{kind}-beta{beta:g}-seed{seed}", records=records,
            step=2 * (len(secrets) - 1), diverged=records[-1] if diverged else None)

    runs = [fake_run("dilated", 0.75, 0, [10, 12], diverged=True),
            fake_run("dilated", 0.75, 1, [10, 13, 14, 15]),
            fake_run("autodiff", 3.0, 0, [10, 15, 16, 17]),
            fake_run("autodiff", 3.0, 1, [10, 14, 18, 19])]
    summary = race.summarize_setting("ours", runs)
    assert summary["common_step"] == 6
    assert summary["diverged"] == ["ours-dilated-beta0.75-seed0"]
    # At step 6 one dilated seed is left: one pair.
    pair = summary["paired_differences"]["autodiff-beta3 - dilated-beta0.75"]
    assert pair["heldout"]["secret_psnr"]["values"] == [4.0]
    # At step 2, before the divergence, both seeds pair.
    before = summary["before_divergence"]
    assert before["common_step"] == 2
    assert before["arms"]["dilated-beta0.75"]["seeds"] == [0, 1]
    pair = before["paired_differences"]["autodiff-beta3 - dilated-beta0.75"]
    assert pair["heldout"]["secret_psnr"]["values"] == [3.0, 1.0]
    # Without a divergence there is nothing to add.
    runs[0] = fake_run("dilated", 0.75, 0, [10, 12, 13, 14])
    assert "before_divergence" not in race.summarize_setting("ours", runs)
