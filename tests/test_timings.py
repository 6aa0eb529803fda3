"""The chapters' timing sentence: read from benchmarks/results/chapters.json, never failing."""

import json
import subprocess
import sys

import pytest

from stegutils import results as results_module
from stegutils import timings

from scripts import load_script

MACHINE = {"os": "Linux", "architecture": "x86_64", "cpu": "AMD EPYC", "cpus": 2,
           "bfloat16": True, "gpus": [], "tensorflow": "2.21.0"}
NOT_MEASURED = ("Timings for this page have not been measured yet "
                "(run python benchmarks/chapters.py).")


def _results(chapters, *, load=0.2, gpu_machine=None):
    runs = {"cpu-run": {"machine": MACHINE, "load_average_start": [load, load, load]}}
    if gpu_machine:
        runs["gpu-run"] = {"machine": gpu_machine, "load_average_start": [0.1, 0.1, 0.1]}
    return {"command": "python benchmarks/chapters.py", "machine": MACHINE,
            "date": "2026-01-01", "gpu_measured": bool(gpu_machine),
            "chapters": chapters, "runs": runs}


@pytest.fixture()
def write(tmp_path):
    path = tmp_path / "chapters.json"

    def write(payload):
        path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
        return path

    return write


def test_both_modes_measured_give_the_spec_sentence(write, capsys):
    path = write(_results({"05_training": {"fast_s": 41.2, "full_s": 512.0,
                                           "fast_run": "cpu-run", "full_run": "cpu-run"}}))
    sentence = timings.note("05_training", path=path)
    assert sentence == ("On a 2-core CPU (AMD EPYC, TensorFlow 2.21.0) this page ran in 8.5 "
                        "minutes, 41 seconds in fast mode; on a GPU it has not been measured.")
    assert capsys.readouterr().out.strip() == sentence


def test_only_fast_mode_measured_says_the_full_run_is_not_measured_yet(write):
    path = write(_results({"05_training": {"fast_s": 41.2, "fast_run": "cpu-run"}}))
    sentence = timings.note("05_training", path=path, quiet=True)
    assert "41 seconds in fast mode" in sentence
    assert "The full run has not been measured yet." in sentence
    assert "minutes" not in sentence


def test_a_busy_machine_is_said_with_its_load_average(write):
    path = write(_results({"05_training": {"fast_s": 41.2, "fast_run": "cpu-run"}}, load=2.9))
    sentence = timings.note("05_training", path=path, quiet=True)
    assert "busy" in sentence and "load average 2.9 on 2 cores" in sentence


def test_a_quiet_machine_is_not_called_busy(write):
    path = write(_results({"05_training": {"fast_s": 41.2, "fast_run": "cpu-run"}}, load=0.3))
    assert "busy" not in timings.note("05_training", path=path, quiet=True)


def test_gpu_times_are_reported_after_the_cpu_ones(write):
    gpu_machine = dict(MACHINE, gpus=["/physical_device:GPU:0"])
    path = write(_results({"05_training": {
        "fast_s": 41.2, "full_s": 512.0, "fast_run": "cpu-run", "full_run": "cpu-run",
        "gpu_fast_s": 12.0, "gpu_full_s": 95.0, "gpu_fast_run": "gpu-run",
        "gpu_full_run": "gpu-run"}}, gpu_machine=gpu_machine))
    sentence = timings.note("05_training", path=path, quiet=True)
    assert sentence.startswith("On a 2-core CPU")
    assert "; on a GPU (TensorFlow 2.21.0) it ran in 1.6 minutes, 12 seconds in fast mode." \
        in sentence


def test_a_missing_file_says_not_measured_yet(tmp_path, capsys):
    sentence = timings.note("05_training", path=tmp_path / "nothing.json")
    assert sentence == NOT_MEASURED
    assert capsys.readouterr().out.strip() == NOT_MEASURED
    assert timings.load(tmp_path / "nothing.json") is None


@pytest.mark.parametrize("payload", [
    "{not json", "", "[1, 2, 3]", '{"chapters": [1, 2]}', '"text"',
    '{"chapters": {"05_training": {"fast_s": "soon"}}}',
    '{"chapters": {"05_training": {"fast_s": -3}}}',
    '{"chapters": {"05_training": null}}',
    '{"chapters": {"05_training": {"fast_s": 40, "fast_run": "x"}}, "runs": 7}',
], ids=["not-json", "empty", "a-list", "chapters-a-list", "a-string", "a-word", "negative",
        "null-entry", "runs-not-a-dict"])
def test_a_malformed_file_never_raises(write, payload):
    sentence = timings.note("05_training", path=write(payload), quiet=True)
    assert isinstance(sentence, str) and sentence


def test_a_malformed_file_loads_as_none(write):
    assert timings.load(write("{not json")) is None
    assert timings.load(write("[1, 2]")) is None


def test_a_chapter_without_an_entry_says_not_measured_yet(write):
    path = write(_results({"02_data": {"fast_s": 10.0, "fast_run": "cpu-run"}}))
    assert timings.note("05_training", path=path, quiet=True) == NOT_MEASURED


def test_load_returns_the_dict(write):
    payload = _results({"02_data": {"fast_s": 10.0}})
    assert timings.load(write(payload)) == payload


def test_a_notebook_in_book_finds_the_file_from_its_working_directory(tmp_path):
    # A clone whose library is installed elsewhere: the file is found as
    # ../benchmarks/results/chapters.json from book/. Run in a fresh interpreter whose
    # package path is a copy of the module outside any repository.
    package = tmp_path / "site" / "stegutils_copy"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "timings.py").write_text(timings.__loader__.get_source("stegutils.book.timings"))
    (package / "results.py").write_text(
        results_module.__loader__.get_source("stegutils.book.results"))
    results = tmp_path / "clone" / "benchmarks" / "results"
    results.mkdir(parents=True)
    (results / "chapters.json").write_text(json.dumps(
        _results({"05_training": {"fast_s": 41.2, "fast_run": "cpu-run"}})))
    book = tmp_path / "clone" / "book"
    book.mkdir()
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "from stegutils_copy import timings; timings.note('05_training')")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "site")], cwd=book,
                         capture_output=True, text=True, check=True).stdout
    assert "41 seconds in fast mode" in out


def test_durations_read_as_words():
    assert timings.format_duration(0.2) == "1 second"
    assert timings.format_duration(41.2) == "41 seconds"
    assert timings.format_duration(512) == "8.5 minutes"
    assert timings.format_duration(2 * 3600) == "2.0 hours"


def _chapters_script():
    return load_script("benchmarks/chapters.py", "chapters_benchmark")


def test_a_partial_benchmark_run_updates_only_what_it_ran(write):
    chapters = _chapters_script()
    known = ["02_data", "05_training"]
    first = {"command": "python benchmarks/chapters.py --modes fast", "date": "2026-01-01",
             "machine": MACHINE, "load_average_start": [2.9, 2.0, 1.0]}
    results = chapters.merge({}, "run-1", first, {("02_data", "fast"): (10.04, None),
                                                  ("05_training", "fast"): (41.2, None)}, known)
    second = dict(first, command="python benchmarks/chapters.py --modes full "
                  "--chapters 05_training", date="2026-01-02", load_average_start=[0.1] * 3)
    results = chapters.merge(results, "run-2", second,
                             {("05_training", "full"): (512.0, None)}, known)
    assert results["chapters"]["02_data"] == {"fast_s": 10.0, "fast_run": "run-1"}
    assert results["chapters"]["05_training"] == {
        "fast_s": 41.2, "fast_run": "run-1", "full_s": 512.0, "full_run": "run-2"}
    assert set(results["runs"]) == {"run-1", "run-2"}
    assert results["date"] == "2026-01-02" and results["gpu_measured"] is False
    sentence = timings.note("05_training", path=write(results), quiet=True)
    assert "8.5 minutes, 41 seconds in fast mode" in sentence
    assert "load average 2.9" in sentence  # the fast run's machine was busy


def test_a_failed_chapter_replaces_its_old_time_with_the_error():
    chapters = _chapters_script()
    run = {"command": "c", "date": "d", "machine": MACHINE}
    results = chapters.merge({}, "run-1", run, {("05_training", "fast"): (41.2, None)},
                             ["05_training"])
    results = chapters.merge(results, "run-2", run,
                             {("05_training", "fast"): (3.0, "CellExecutionError: boom")},
                             ["05_training"])
    entry = results["chapters"]["05_training"]
    assert "fast_s" not in entry and entry["fast_error"] == "CellExecutionError: boom"
    assert set(results["runs"]) == {"run-2"}  # run-1 measured nothing that is kept


def test_the_recorded_command_leaves_out_where_outputs_were_kept():
    chapters = _chapters_script()
    assert chapters.recorded_command(["--modes", "fast", "--keep-outputs", "/somewhere",
                                      "--chapters", "05"]) == \
        "python benchmarks/chapters.py --modes fast --chapters 05"
