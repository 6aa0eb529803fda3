"""No chapter types a number that a results file or a model card holds.

Every measured figure in the book is printed by a cell that reads it, so that the page
and the file cannot disagree. This test collects, for each chapter, the figures of the
results files and cards that the chapter reads (PSNRs, pixel errors, speeds, times,
correlations, counts of held-out pairs, crop seeds), formats them the ways a person would
type them (the value as stored, to one and to two decimals), and fails when one appears
as a number in the chapter's prose (markdown cells; code and its output are the
computed places).
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
WEIGHTS = ROOT / "stegutils" / "weights"

# Which files each chapter reads its figures from.
SOURCES = {
    "01_introduction": ["quality.json", "cards"],
    "02_data": ["cards"],
    "03_networks": ["quality.json", "speed.json", "design_trials.json", "cards"],
    "04_loss": ["quality.json", "cards"],
    "05_training": ["quality.json", "cards", "speed.json"],
    "06_backprop": ["backprop.json", "race.json", "race_lr1e-3.json", "cards"],
    "07_failures": ["failures.json", "quality.json", "cards"],
    "08_playground": ["quality.json", "speed_full_size.json", "cards"],
    "09_invertible": ["invertible.json", "quality.json", "cards"],
    "10_channel": ["channel.json", "failures.json", "strength.json", "cover_loss.json",
                   "refine.json", "candidates/robust-shift.json",
                   "candidates/robust-mix.json",
                   "candidates/robust-mix-b.json", "cards"],
}
# Measured quantities, by the last part of their key, and counts that name a measured set.
MEASURED = re.compile(r"(psnr|mpe|ssim|auc|accuracy|pearson|spearman|edges|seconds|"
                      r"per_second|ratio|loss|mean|std)", re.IGNORECASE)
# (Counts such as 50 pairs or 200 photos are facts of the data sets, fine to state; the
# crop seed of the held-out set is a setting that only the results name.)
COUNTS = {"crop_seed"}
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.]*\w)")


def _leaves(value, key=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v, key)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield key, value


def _typed_forms(key, value):
    forms = set()
    if isinstance(value, int) and key in COUNTS and value >= 10:
        forms.add(str(value))
    elif isinstance(value, float) and MEASURED.search(key):
        if abs(value) >= 1:  # dB, pixel errors, images/s, seconds
            forms.update({f"{abs(value):.1f}", f"{abs(value):.2f}"})
        elif abs(value) >= 0.05:  # correlations, AUCs, SSIMs
            forms.add(f"{abs(value):.2f}")
    return forms


def _figures(chapter):
    forms = set()
    for source in SOURCES[chapter]:
        files = sorted(WEIGHTS.glob("*.json")) if source == "cards" else [RESULTS / source]
        for path in files:
            if path.is_file():
                for key, value in _leaves(json.loads(path.read_text())):
                    forms |= _typed_forms(key, value)
    # Round numbers a page may state as settings (64 px, 0.5 AUC for guessing, 1.0).
    return forms - {"1.0", "0.50", "0.5", "2.0", "1.00", "0.10", "10.0"}


def _without_fenced_code(text):
    """Drop fenced code blocks, and the fence lines of directives (whose body is prose)."""
    kept, fence = [], None
    for line in text.splitlines():
        marker = re.match(r"\s*(`{3,}|~{3,})(.*)$", line)
        if fence is None and marker:
            fence = (marker.group(1), not marker.group(2).strip().startswith("{"))
            continue
        if fence is not None and marker and marker.group(1) == fence[0] \
                and not marker.group(2).strip():
            fence = None
            continue
        if fence is None or not fence[1]:
            kept.append(line)
    return "\n".join(kept)


def _prose(chapter):
    nb = json.loads((ROOT / "book" / f"{chapter}.ipynb").read_text())
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"])
        # Math and code are not prose figures: $\beta$, `size=64`, fenced code. A
        # directive's fence (```{exercise}) holds prose: only its fence lines go, or their
        # backticks would pair with a code span's.
        text = _without_fenced_code(text)
        text = re.sub(r"`[^`]*`", " ", text)
        text = re.sub(r"\$\$.*?\$\$|\$[^$]*\$", " ", text, flags=re.DOTALL)
        yield index, text


@pytest.mark.parametrize("chapter", sorted(SOURCES))
def test_chapter_prose_types_no_measured_figure(chapter):
    figures = _figures(chapter)
    assert figures, f"{chapter}: no figures collected from {SOURCES[chapter]}"
    typed = []
    for index, text in _prose(chapter):
        for match in NUMBER.finditer(text):
            if match.group(0) in figures:
                start = max(0, match.start() - 40)
                typed.append(f"cell {index}: ...{text[start:match.end() + 20]!r}...")
    assert not typed, (
        f"{chapter} types figures that its results files hold; print them from the file "
        "instead:\n" + "\n".join(typed))


def test_the_check_would_catch_a_typed_figure(tmp_path, monkeypatch):
    # The held-out secret PSNR of the shipped fast model, typed into prose, is caught.
    card = json.loads((WEIGHTS / "fast.json").read_text())
    value = card["heldout"]["sizes"]["64"]["secret_psnr"]
    assert f"{value:.2f}" in _figures("05_training")
    assert f"{value:.1f}" in _figures("05_training")
