"""benchmarks/candidate.py: a run replaces a shipped model only if it loses nothing on
validation, and the figures it writes are the paired ones."""

import numpy as np
import pytest

from scripts import load_script

bench = load_script("benchmarks/candidate.py", "candidate_benchmark")


def _differences(*means):
    return {m: {"mean": v, "low": v - 0.1, "high": v + 0.1}
            for m, v in zip(bench.MEASURES, means)}


def test_the_rule_replaces_only_a_run_that_loses_no_figure():
    assert bench.verdict(_differences(0.0, 1.2, 0.6, 1.0, 0.1)) == (True, [])
    replaces, losing = bench.verdict(_differences(0.03, 1.2, 0.66, 1.02, -1.27))
    assert not replaces and losing == ["crop_jpeg75_secret_psnr"]
    # The cover counts too: a run that buys its secrets with the cover does not replace.
    assert bench.verdict(_differences(-0.2, 1.0, 1.0, 1.0, 1.0))[1] == ["cover_psnr"]


def test_the_rule_names_every_figure():
    assert set(bench.MEASURES) == {"cover_psnr", "secret_psnr", "jpeg75_secret_psnr",
                                   "halved_secret_psnr", "crop_jpeg75_secret_psnr"}
    for words in ("cover", "clean", "JPEG q75 4:2:0", "halved", "offsets 1-7"):
        assert words in bench.RULE


class _Shifted:
    """A stand-in network: hides by adding a fixed amount to the cover, reveals the
    container itself."""

    def __init__(self, amount):
        self.amount = amount

    def hide(self, covers, secrets):
        return np.clip(np.asarray(covers) + self.amount, 0.0, 1.0)

    def reveal(self, images):
        return np.asarray(images)


def test_compare_measures_both_on_the_same_pairs_and_differences_pair_by_pair():
    rng = np.random.default_rng(0)
    covers = rng.uniform(0.2, 0.8, (4, 32, 32, 3)).astype(np.float32)
    secrets = covers.copy()
    same = bench.compare(_Shifted(0.02), _Shifted(0.02), secrets, covers)["network"]
    assert all(same["differences"][m]["mean"] == 0.0 for m in bench.MEASURES)
    better = bench.compare(_Shifted(0.01), _Shifted(0.04), secrets, covers)["network"]
    assert better["differences"]["cover_psnr"]["mean"] > 0
    assert better["candidate"]["cover_psnr"]["mean"] > better["shipped"]["cover_psnr"]["mean"]
    assert bench.verdict(better["differences"])[0]


def test_a_missing_run_folder_is_refused_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        bench.main([str(tmp_path / "nowhere")])
    assert "expected a run folder" in capsys.readouterr().err
