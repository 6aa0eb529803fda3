"""Chapter 1's checker against the solution in the notebook and typical wrong answers.

The reference solution is read from the notebook's solution cell (so the two cannot
drift apart), executed with the chapter's imports only.
"""

import numpy as np
import pytest

from exercise_notebooks import ExerciseNotebook, assert_fails_with, assert_passes
from stegutils import exercises

CHAPTER = ExerciseNotebook("01_introduction.ipynb")
solution, starter = CHAPTER.solution, CHAPTER.starter


def _plain(container, bits):
    """The chapter's lsb_reveal: no half step."""
    low = np.round(np.asarray(container) * 255).astype(np.uint8) & ((1 << bits) - 1)
    return (low << (8 - bits)).astype(np.float32) / 255


def _full_step(container, bits):
    low = np.round(np.asarray(container) * 255).astype(np.uint8) & ((1 << bits) - 1)
    return ((low << (8 - bits)) + np.uint8(1 << (8 - bits))).astype(np.float32) / 255


def _on_255_scale(container, bits):
    low = np.round(np.asarray(container) * 255).astype(np.int32) & ((1 << bits) - 1)
    return ((low << (8 - bits)) + (1 << (7 - bits))).astype(np.float32)


def _wrong_shift(container, bits):
    low = np.round(np.asarray(container) * 255).astype(np.int32) & ((1 << bits) - 1)
    return ((low << bits) % 256 + (1 << (7 - bits))).astype(np.float32) / 255


def _raises(container, bits):
    raise ValueError("not yet")


def test_ex_intro_centre_passes_the_reference_solution():
    result = exercises.ex_intro_centre(solution("ex-intro-centre", "lsb_reveal_centred"))
    assert_passes(result)
    assert result.cases == 5


@pytest.mark.parametrize("wrong, words", [
    (_plain, ["bottom of the range", "1 << (7 - bits)"]),
    (_full_step, ["whole step", "1 << (7 - bits)"]),
    (_on_255_scale, ["values up to", "[0, 1]"]),
    (_wrong_shift, ["is wrong at", "8 - bits"]),
    (_raises, ["raised ValueError: not yet"]),
], ids=["no-half-step", "whole-step", "0-255-scale", "wrong-shift", "raises"])
def test_ex_intro_centre_explains_typical_mistakes(wrong, words):
    assert_fails_with(exercises.ex_intro_centre(wrong), *words)


def test_ex_intro_centre_reports_the_unfinished_starter_once():
    result = exercises.ex_intro_centre(starter("ex-intro-centre", "lsb_reveal_centred"))
    assert_fails_with(result, "returned None")
    assert len(result.problems) == 1
