"""benchmarks/speed.py's targets: latency, training efficiency, the load, the verdicts."""

import json

import pytest

from stegutils import pretrained

from scripts import load_script


@pytest.fixture(scope="module")
def speed():
    return load_script("benchmarks/speed.py", "speed_benchmark")


@pytest.fixture()
def shipped_tiny(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path / "weights")
    pretrained.export(tiny_run, "tiny")
    return "tiny"


def test_the_load_watch_records_load_and_other_processes(speed):
    watch = speed.LoadWatch()
    sum(i * i for i in range(200_000))  # some CPU of our own, not another process's
    load = watch.finish()
    assert len(load["load_average_start"]) == 3 and len(load["load_average_end"]) == 3
    assert load["other_processes_cores"] is None or load["other_processes_cores"] >= 0
    assert isinstance(load["busy"], bool)


def test_targets_are_measured_with_intervals_and_verdicts(speed, shipped_tiny, monkeypatch,
                                                          tmp_path, capsys):
    monkeypatch.setattr(speed, "CONV_SHAPES", ((2, 8, 8),))
    out = tmp_path / "targets.json"
    speed.main(["--only-targets", "--target-models", shipped_tiny, "--target-repeats", "2",
                "--out", str(out)])
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["rows"] == [] and result["playground"] == []
    assert "load_average_start" in result["load"]
    (row,) = result["targets"]
    latency, training = row["latency"], row["training"]
    assert row["model"] == "tiny" and row["resolved_precision"] == "float32"
    assert (latency["hide_reveal_256_seconds_low"] <= latency["hide_reveal_256_seconds"]
            <= latency["hide_reveal_256_seconds_high"])
    assert latency["target_seconds"] == speed.LATENCY_TARGET_SECONDS
    assert (training["fraction_of_conv_low"] <= training["fraction_of_conv"]
            <= training["fraction_of_conv_high"])
    assert training["target_fraction"] == speed.EFFICIENCY_TARGET
    assert set(training["conv_shapes_operations_per_second"]) == {"2x8x8x8"}
    allowed = {"met", "not met", "not decided: within the spread",
               "not decided: the machine was busy, and the load could explain the figure"}
    assert latency["verdict"] in allowed and training["verdict"] in allowed
    if row["load"]["busy"]:
        # A busy machine can explain any efficiency figure, and a latency that misses.
        assert training["verdict"].startswith("not decided")
        assert latency["verdict"] != "not met"
    assert "target < 100 ms" in printed and "target >= 50%" in printed
    assert "load average" in printed
