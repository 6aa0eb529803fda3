"""benchmarks/fullsize.py (speed.py's full-size section), run at tiny sizes.

The figures themselves (12 and 36 megapixels, 100 pairs) take minutes and are measured
by ``python benchmarks/speed.py``; this checks that the section runs and what it records.
"""

import pytest

from scripts import load_script


@pytest.fixture(scope="module")
def fullsize():
    return load_script("benchmarks/fullsize.py", "fullsize")


def test_sizes_and_verdicts(fullsize):
    assert fullsize.parse_size("4000x3000") == (4000, 3000)
    for bad in ("4000", "0x3", "ax3"):
        with pytest.raises(ValueError, match="expected a"):
            fullsize.parse_size(bad)
    runs = {"startup": {"seconds": 3.0, "peak_rss_bytes": 9e9},
            "photo_hide": {"seconds": 7.0, "peak_rss_bytes": 1.2e9, "megapixels": 12},
            "photo_reveal": {"seconds": 13.0, "peak_rss_bytes": 1.0e9, "megapixels": 12},
            "memory_hide": {"seconds": 30.0, "peak_rss_bytes": 1.6e9, "megapixels": 36},
            "folder_hide": {"seconds": 14.0, "peak_rss_bytes": 0.9e9}}
    verdicts = fullsize.verdicts(runs)
    assert verdicts["hide_seconds"]["met"] and not verdicts["reveal_seconds"]["met"]
    assert verdicts["folder_hide_seconds"]["met"]
    # The worst peak up to 40 megapixels counts (start-up is inside every run already).
    assert verdicts["peak_rss_bytes"] == {"value": 1.6e9, "run": "memory_hide",
                                          "target": 1.5e9, "met": False}


def test_the_section_runs_the_command_line_small(fullsize, tiny_run, tmp_path):
    lines = []
    result = fullsize.measure(sizes={"photo": (70, 50), "memory": None, "folder_pairs": 2,
                                     "folder_size": 24},
                              model=tiny_run, workdir=tmp_path, log=lines.append)
    runs = result["runs"]
    assert sorted(runs) == ["folder_hide", "folder_reveal", "photo_hide", "photo_reveal",
                            "startup"]
    for run in runs.values():
        assert run["seconds"] > 0 and run["peak_rss_bytes"] > 10**7  # TensorFlow alone
    assert runs["photo_hide"]["width"] == 70 and runs["folder_hide"]["pairs"] == 2
    assert set(result["verdicts"]) == {"hide_seconds", "reveal_seconds",
                                       "folder_hide_seconds", "peak_rss_bytes"}
    assert list(tmp_path.iterdir()) == []  # its files are removed
    shown = []
    fullsize.print_verdicts(result, full_sizes=False, log=shown.append)
    assert len(shown) == 4 and all("quick sizes" in line for line in shown)
    assert any("70x50" in line for line in lines)
