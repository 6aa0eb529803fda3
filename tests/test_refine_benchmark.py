"""benchmarks/refine.py: the refinement's setting chosen on validation, by its rule."""

import numpy as np
import pytest

from scripts import load_script

bench = load_script("benchmarks/refine.py", "refine_benchmark")


def _row(cover, *secrets):
    values = dict(zip(bench.MEASURES, (cover, *secrets)))
    return {"differences": {m: {"mean": v, "low": v - 0.1, "high": v + 0.1}
                            for m, v in values.items()}}


def test_the_rule_takes_the_largest_cover_gain_of_those_that_lose_no_secret():
    rows = {"a": _row(2.5, 0.1, -0.01, 0.2, 0.3),   # most cover, loses JPEG: out
            "b": _row(1.5, 0.0, 0.2, 0.1, 0.0),     # qualifies
            "c": _row(1.0, 0.5, 0.5, 0.5, 0.5)}     # qualifies, less cover
    assert bench.choose(rows) == "b"


def test_the_rule_chooses_nothing_when_every_setting_loses_a_secret_figure():
    rows = {"a": _row(2.0, -0.2, 0.1, 0.1, 0.1), "b": _row(1.0, 0.1, 0.1, 0.1, -0.3)}
    assert bench.choose(rows) is None


def test_every_secret_figure_is_in_the_rule():
    assert set(bench.SECRET_MEASURES) == {"secret_psnr", "jpeg75_secret_psnr",
                                          "halved_secret_psnr", "crop_jpeg75_secret_psnr"}
    for words in ("clean", "JPEG q75 4:2:0", "halved", "offsets 1-7"):
        assert words in bench.RULE


def test_per_pair_measures_the_refined_containers(monkeypatch):
    class Identity:
        def reveal(self, images):
            return np.asarray(images)

    rng = np.random.default_rng(0)
    secrets = rng.random((3, 32, 32, 3)).astype(np.float32)
    values = bench.per_pair(Identity(), secrets, secrets, secrets)
    assert set(values) == set(bench.MEASURES)
    assert all(len(v) == 3 for v in values.values())
    # The container is the secret and the reveal the identity: clean is perfect, the
    # channel is what costs.
    assert np.all(values["secret_psnr"] > 60)
    assert np.all(values["jpeg75_secret_psnr"] < values["secret_psnr"])
    assert np.all(values["crop_jpeg75_secret_psnr"] < 60)


def test_the_library_default_is_the_setting_the_benchmark_chose():
    # RefineSpec() is what `stegutils hide --refine` and the chapter use: it must be the
    # setting benchmarks/refine.py chose on validation photos, so that the held-out
    # figures the chapter shows are the default's.
    import json

    from stegutils import refine

    path = bench.RESULTS
    if not path.is_file():
        pytest.skip("no benchmarks/results/refine.json")
    chosen = json.loads(path.read_text())["validation"]
    if chosen["chosen"] is None:
        pytest.skip("the benchmark chose no setting")
    spec = chosen["settings"][chosen["chosen"]]["spec"]
    default = refine.RefineSpec().to_dict()
    assert {k: v for k, v in default.items() if k != "steps"} == \
        {k: v for k, v in spec.items() if k != "steps"}
    assert default["steps"] == spec["steps"]
