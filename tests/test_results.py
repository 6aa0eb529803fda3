"""The chapters find their results files and model cards wherever the book runs.

A source checkout, a Colab launch (a clone beside a non-editable install) and a bare
installed wheel must all see the same measured figures. The wheel test builds the wheel
of this checkout, installs it into a fresh virtual environment (no TensorFlow: the
lookup must not need it) and runs the lookup there, from a folder that holds nothing.
"""

import json
import os
import pathlib
import subprocess
import sys
import venv
import zipfile

import pytest

from stegutils import reproduction, results, timings

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Every results file, by its path under benchmarks/results ("candidates/NAME.json" too).
RESULTS = sorted(p.relative_to(ROOT / "benchmarks" / "results").as_posix()
                 for p in (ROOT / "benchmarks" / "results").rglob("*.json"))


def test_every_results_file_is_found_in_the_checkout():
    assert RESULTS, "benchmarks/results holds no JSON"
    for name in RESULTS:
        found = results.find(name)
        assert found is not None, name
        assert json.loads(found.read_text()) == results.load(name)


def test_timings_and_reproduction_read_through_the_same_lookup():
    assert timings.find() == results.find("chapters.json")
    assert reproduction.load_result("quality.json") == results.load("quality.json")


def test_missing_or_malformed_results_are_none(tmp_path):
    assert results.find("no-such-results.json") is None
    assert results.load("no-such-results.json") is None
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    assert results.load("bad.json", results_dir=tmp_path) is None
    assert results.load("list.json", results_dir=tmp_path) is None


def test_a_notebook_run_from_book_finds_results_beside_it(tmp_path, monkeypatch):
    # The Colab layout: a clone whose book/ is the working directory.
    clone = tmp_path / "clone"
    (clone / "benchmarks" / "results").mkdir(parents=True)
    (clone / "book").mkdir()
    (clone / "benchmarks" / "results" / "only-in-the-clone.json").write_text('{"a": 1}')
    monkeypatch.chdir(clone / "book")
    assert results.load("only-in-the-clone.json") == {"a": 1}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, text=True)
    (found,) = out.glob("stegutils-*.whl")
    return found


def test_the_wheel_carries_every_module_results_file_and_card(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "stegutils").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert modules <= names, f"missing from the wheel: {sorted(modules - names)}"
    for name in RESULTS:
        assert f"stegutils/_results/{name}" in names, name
    for card in (ROOT / "stegutils" / "weights").glob("*.json"):
        assert f"stegutils/weights/{card.name}" in names
        weights = json.loads(card.read_text())["weights"]
        assert f"stegutils/weights/{weights}" in names


def test_an_installed_wheel_alone_finds_results_and_cards(wheel, tmp_path):
    env_dir = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
                   check=True, capture_output=True, text=True)
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    script = (
        "import json, importlib.resources, stegutils\n"
        "from stegutils import results, timings, reproduction\n"
        f"names = {RESULTS!r}\n"
        "found = {n: str(results.find(n)) for n in names}\n"
        "cards = sorted(p.name for p in importlib.resources.files('stegutils.weights').iterdir()\n"
        "               if p.name.endswith('.json'))\n"
        "print(json.dumps({'package': stegutils.__file__, 'found': found, 'cards': cards,\n"
        "                  'timings': timings.load() is not None,\n"
        "                  'quality': reproduction.load_result('quality.json') is not None}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run([str(python), "-c", script], cwd=empty, env=env,
                          capture_output=True, text=True, check=True)
    report = json.loads(done.stdout)
    assert str(env_dir) in report["package"], report["package"]  # not this checkout
    for name, path in report["found"].items():
        assert path != "None" and str(env_dir) in path, (name, path)
    shipped = sorted(p.name for p in (ROOT / "stegutils" / "weights").glob("*.json"))
    assert report["cards"] == shipped
    assert report["timings"] and report["quality"]
