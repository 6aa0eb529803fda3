"""What a training run and an export survive: Ctrl-C, kills at every write, damaged files,
a second process, full disks, divergence, out of memory, bad model cards.

Each case breaks a real run (a real process killed or interrupted where it can be, real
files damaged) and then checks what the user gets: one clear line, nothing half-written
left behind, and, after ``--resume``, weights bit for bit those of an uninterrupted run.
"""

import json
import os
import pathlib
import resource
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import tensorflow as tf

from conftest import TINY_FAST
from stegutils import cli, pretrained, train

ROOT = pathlib.Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"

# The run every case breaks: 12 steps, checkpoints at 4, 8 and 12, no validation photos
# (validation is the subject of the divergence case only).
CONFIG = dict(variant="fast", variant_options=TINY_FAST, size=16, batch_size=2, steps=12,
              seed=5, precision="float32", lr=2e-3, lr_schedule="constant", val_photos=0,
              log_every=2, eval_every=4, checkpoint_every=4)
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}


def _config(photo_folder, **overrides):
    return train.Config(**{**CONFIG, "data": str(photo_folder), **overrides})


def _cli(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.err


def _resume(capsys, run_dir, *more):
    return _cli(capsys, "--quiet", "train", "--run-dir", run_dir, "--resume", *more)


def _weights(run_dir, name="final.weights.h5"):
    config = train.load_config(run_dir)
    net = pretrained._build_and_load(config, pathlib.Path(run_dir) / name, "float32")
    return [v.numpy() for v in net.weights]


def _assert_same_weights(run_dir, reference):
    got = _weights(run_dir)
    assert len(got) == len(reference)
    for a, b in zip(got, reference):
        np.testing.assert_array_equal(a, b)  # bit for bit


def _history_steps(run_dir):
    return [json.loads(line)["step"] for line in
            (pathlib.Path(run_dir) / "history.jsonl").read_text().splitlines()]


def _temporaries(run_dir):
    """Temporary files anywhere in a run folder (none may outlive a finished command)."""
    return sorted(str(p.relative_to(run_dir)) for p in pathlib.Path(run_dir).rglob("*")
                  if p.name.endswith(".tmp") or ".tmp." in p.name or "_temp" in p.name
                  or ".tempstate" in p.name or p.name.startswith("checkpoint.tmp"))


def _checkpoint_state(run_dir, number):
    reader = tf.train.load_checkpoint(str(pathlib.Path(run_dir) / "checkpoints" / f"ckpt-{number}"))
    return (int(reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE")),
            int(reader.get_tensor("optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE")))


@pytest.fixture(scope="module")
def reference(photo_folder, tmp_path_factory):
    """The final weights of the run, uninterrupted."""
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    train.Trainer(_config(photo_folder), run_dir).fit(progress=False)
    return _weights(run_dir)


@pytest.fixture(scope="module")
def stopped_at_8(photo_folder, tmp_path_factory):
    """The run stopped cleanly at step 8 (checkpoints 4 and 8), as the command line left it."""
    run_dir = tmp_path_factory.mktemp("stopped") / "run"
    train.Trainer(_config(photo_folder), run_dir).fit(8, progress=False)
    (run_dir / "commands.jsonl").write_text(json.dumps(
        {"argv": ["stegutils", "train", "--run-dir", "runs/run"], "step": 0}) + "\n")
    return run_dir


@pytest.fixture()
def run_at_8(stopped_at_8, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(stopped_at_8, copy)
    return copy


# A run in a real process, to interrupt, kill or hold there.
_SCRIPT = textwrap.dedent(
    """
    import json, os, pathlib, signal, sys, time
    from stegutils import train

    run_dir, config, mode = pathlib.Path(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
    config = train.Config(**config)
    gradient_fn = callback = None

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    if mode.startswith(("sigint:", "sigterm:")):
        # As in a terminal, whatever started the tests: a job started in the background
        # of a shell inherits SIGINT ignored, and Python keeps it so.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        # Ctrl-C arrives while the compiled step runs: the signal is sent from inside
        # the graph, the moment the step's update is under way.
        import tensorflow as tf
        at = int(mode.split(":")[1])

        def gradient_fn(net, *, cover, secret, **kwargs):
            def maybe_interrupt(step):
                if int(step) == at:
                    os.kill(os.getpid(), signal.SIGINT if mode.startswith("sigint")
                            else signal.SIGTERM)
                return step
            marker = tf.py_function(maybe_interrupt, [kwargs["seed"][1]], tf.int64)
            with tf.control_dependencies([marker]):
                secret = tf.identity(secret)
            return train.gradients(net, cover=cover, secret=secret, **kwargs)

    elif mode == "hold":
        # Training, with the run folder's lock held, waits at step 4 until told to go on.
        def callback(step, record):
            if step == 4:
                (run_dir.parent / "holding").write_text(str(os.getpid()))
                while not (run_dir.parent / "go").exists():
                    time.sleep(0.05)

    elif mode == "kill-replacing-index":
        # SIGKILL as the checkpoint index of step 8 is being replaced: the new index is
        # written beside the old one, not renamed yet.
        import tensorflow as tf
        from tensorflow.python.lib.io import file_io
        save = tf.train.CheckpointManager.save

        def save_checkpoint(self, checkpoint_number=None, **kwargs):
            if checkpoint_number == 8:
                file_io.rename = lambda *args, **kwargs: die()
            return save(self, checkpoint_number=checkpoint_number, **kwargs)

        tf.train.CheckpointManager.save = save_checkpoint

    elif mode == "history-write":
        # SIGKILL as the rewritten history replaces the old one (resume at step 4).
        real_replace = os.replace

        def replace(source, target, *args, **kwargs):
            if os.path.basename(str(source)).startswith(".history.jsonl."):
                die()
            return real_replace(source, target, *args, **kwargs)
        os.replace = replace

    trainer = train.Trainer(config, run_dir, gradient_fn=gradient_fn)
    trainer.fit(progress=False, callback=callback)
    print(json.dumps({"interrupted": trainer.interrupted, "pid": os.getpid()}))
    """
)


def _start(tmp_path, run_dir, mode, **overrides):
    script = tmp_path / "run.py"
    script.write_text(_SCRIPT)
    config = {**CONFIG, **overrides}
    return subprocess.Popen([sys.executable, str(script), str(run_dir), json.dumps(config),
                             mode], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _finish(process, timeout=300):
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


# ------------------------------------------------------------------ 1. Ctrl-C (SIGINT)


def test_ctrl_c_saves_a_consistent_checkpoint_and_resume_is_exact(photo_folder, reference,
                                                                  tmp_path, capsys):
    run_dir = tmp_path / "run"
    # SIGINT while step 6 (index 5) is being computed.
    status, out, err = _finish(_start(tmp_path, run_dir, "sigint:5", data=str(photo_folder)))
    assert status == 0, err[-2000:]
    assert json.loads(out.splitlines()[-1])["interrupted"] is True
    assert "Ctrl-C: stopping after this step" in err
    # The step in progress was finished and saved with everything that goes with it.
    assert _checkpoint_state(run_dir, 6) == (6, 6)
    assert _history_steps(run_dir) == [2, 4, 6]
    status, err = _resume(capsys, run_dir)
    assert status == 0, err
    _assert_same_weights(run_dir, reference)
    assert _history_steps(run_dir) == [2, 4, 6, 8, 10, 12]


def test_sigterm_stops_like_ctrl_c_and_resume_is_exact(photo_folder, reference, tmp_path,
                                                       capsys):
    # `kill PID` is how a background run (which ignores Ctrl-C) is stopped.
    run_dir = tmp_path / "run"
    status, out, err = _finish(_start(tmp_path, run_dir, "sigterm:5", data=str(photo_folder)))
    assert status == 0, err[-2000:]
    assert json.loads(out.splitlines()[-1])["interrupted"] is True
    assert "SIGTERM: stopping after this step" in err
    assert _checkpoint_state(run_dir, 6) == (6, 6)
    status, err = _resume(capsys, run_dir)
    assert status == 0, err
    _assert_same_weights(run_dir, reference)


# --------------------------------------------------- 2. a damaged checkpoint index file


@pytest.mark.parametrize("damage", ["garbage", "cut-off"])
def test_a_damaged_checkpoint_index_is_an_error_not_a_restart(run_at_8, capsys, damage):
    index = run_at_8 / "checkpoints" / "checkpoint"
    text = index.read_text()
    index.write_text("\x00\x17 not a checkpoint {{" if damage == "garbage" else text[:20])
    history = (run_at_8 / "history.jsonl").read_text()
    before = sorted(p.name for p in (run_at_8 / "checkpoints").iterdir())
    status, err = _resume(capsys, run_at_8)
    assert status == 1
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "checkpoint index" in err and "damaged" in err and str(index) in err
    assert (run_at_8 / "history.jsonl").read_text() == history
    assert sorted(p.name for p in (run_at_8 / "checkpoints").iterdir()) == before


# ------------------------------------------------------------- 3. a failed export


def test_a_failed_export_leaves_the_model_it_would_replace(run_at_8, tiny_run, tmp_path,
                                                           capsys):
    out = tmp_path / "weights"
    pretrained.export(tiny_run, "m", out_dir=out)
    weights, card = (out / "m.weights.h5").read_bytes(), (out / "m.json").read_bytes()
    commands = run_at_8 / "commands.jsonl"
    commands.write_text(commands.read_text() + '{"argv": ["stegutils", "tra')  # cut off
    with pytest.raises(ValueError, match=r"commands\.jsonl line 2 \(cut off\?\)"):
        pretrained.export(run_at_8, "m", weights="final.weights.h5", out_dir=out)
    status, err = _cli(capsys, "export", run_at_8, "--name", "m", "--weights",
                       "final.weights.h5", "--out-dir", out)
    assert status == 1 and err.count("\n") == 1 and "commands.jsonl" in err, err
    assert (out / "m.weights.h5").read_bytes() == weights
    assert (out / "m.json").read_bytes() == card
    assert sorted(p.name for p in out.iterdir()) == ["m.json", "m.weights.h5"]


# ------------------------------------------------------ 4. one process per run folder


def test_a_second_process_is_refused_and_a_stale_lock_is_taken_over(photo_folder, reference,
                                                                    tmp_path, capsys):
    run_dir = tmp_path / "run"
    process = _start(tmp_path, run_dir, "hold", data=str(photo_folder))
    try:
        while not (tmp_path / "holding").exists():
            assert process.poll() is None, process.communicate()[1][-2000:]
            time.sleep(0.05)
        status, err = _resume(capsys, run_dir)
        assert status == 1, err
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert f"in use: process {process.pid} is training in it" in err
        process.send_signal(signal.SIGKILL)  # the holder dies with the lock file in place
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    assert (run_dir / "lock").read_text().strip() == str(process.pid)
    status, err = _resume(capsys, run_dir)
    assert status == 0, err
    assert f"taking over the lock of {run_dir} from process {process.pid}" in err
    _assert_same_weights(run_dir, reference)
    assert _history_steps(run_dir) == [2, 4, 6, 8, 10, 12]


# --------------------------------------- 5. damaged latest checkpoint, and a full disk


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


_DAMAGE = {
    "truncated": lambda c: _truncate(c / "ckpt-8.data-00000-of-00001"),
    "flipped-byte": lambda c: _flip(c / "ckpt-8.data-00000-of-00001"),
    "index-deleted": lambda c: (c / "ckpt-8.index").unlink(),
    "index-empty": lambda c: (c / "ckpt-8.index").write_bytes(b""),
}


@pytest.mark.parametrize("damage", sorted(_DAMAGE))
def test_a_damaged_latest_checkpoint_falls_back_to_the_newest_intact_one(run_at_8, reference,
                                                                         capsys, damage):
    _DAMAGE[damage](run_at_8 / "checkpoints")
    status, err = _resume(capsys, run_at_8)
    assert status == 0, err
    assert "checkpoint ckpt-8 (" in err and "is damaged; resuming from ckpt-4" in err, err
    assert "Traceback" not in err
    _assert_same_weights(run_at_8, reference)
    assert _history_steps(run_at_8) == [2, 4, 6, 8, 10, 12]
    assert not list((run_at_8 / "checkpoints").glob("ckpt-8*")) or \
        _checkpoint_state(run_at_8, 8) == (8, 8)


def _file_size_limit(limit):
    def apply():
        # A file may not grow past ``limit`` bytes: writing more fails as on a full
        # disk (EFBIG, "File too large"), instead of killing the process (SIGXFSZ).
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    return apply


def test_a_full_disk_ends_in_one_line_and_leaves_nothing_half_written(run_at_8, reference,
                                                                      capsys):
    # Room for the small files, not for the checkpoint at step 12 (about 80 kB).
    result = subprocess.run(
        [sys.executable, "-m", "stegutils", "--quiet", "train", "--run-dir", str(run_at_8),
         "--resume"], env=ENV, capture_output=True, text=True, timeout=300,
        preexec_fn=_file_size_limit(40_000))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the disk is full: could not write "), last
    assert "ckpt-12" in last and "File too large" in last and "step 8 is intact" in last
    assert _temporaries(run_at_8) == []
    assert not list((run_at_8 / "checkpoints").glob("ckpt-12*"))
    status, err = _resume(capsys, run_at_8)
    assert status == 0, err
    _assert_same_weights(run_at_8, reference)
    assert _history_steps(run_at_8) == [2, 4, 6, 8, 10, 12]


# ------------------------------------------------- 6. changed settings on --resume


def test_resume_refuses_changed_settings_unless_allowed(run_at_8, capsys):
    config = (run_at_8 / "config.json").read_text()
    history = (run_at_8 / "history.jsonl").read_text()
    status, err = _resume(capsys, run_at_8, "--lr", "5e-4", "--beta", "1.0", "--size", "24",
                          "--batch-size", "3")
    assert status == 1 and err.count("\n") == 1, err
    for change in ("--lr 0.002 -> 0.0005", "--beta 0.75 -> 1.0", "--size 16 -> 24",
                   "--batch-size 2 -> 3", "--allow-changes"):
        assert change in err, err
    assert (run_at_8 / "config.json").read_text() == config
    assert (run_at_8 / "history.jsonl").read_text() == history

    status, err = _resume(capsys, run_at_8, "--lr", "5e-4", "--beta", "1.0", "--allow-changes")
    assert status == 0, err
    entry = json.loads((run_at_8 / "commands.jsonl").read_text().splitlines()[-1])
    assert entry["changed"] == {"lr": [0.002, 0.0005], "beta": [0.75, 1.0]}
    assert entry["step"] == 8 and "--allow-changes" in entry["argv"]
    saved = json.loads((run_at_8 / "config.json").read_text())
    assert (saved["lr"], saved["beta"]) == (0.0005, 1.0)
    reader = tf.train.load_checkpoint(str(run_at_8 / "checkpoints" / "ckpt-12"))
    lr = reader.get_tensor("optimizer/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE")
    assert lr == np.float32(5e-4), "the new learning rate must be the one trained with"
    # Once accepted, they are the run's settings: resuming with them needs no flag.
    status, err = _resume(capsys, run_at_8, "--lr", "5e-4", "--steps", "14")
    assert status == 0, err


# ------------------------------------------------------ 7. a loss that is not finite


def test_a_diverging_run_stops_and_never_saves_nan_as_best(photo_folder, tmp_path, capsys):
    run_dir = tmp_path / "run"
    status, err = _cli(capsys, "--quiet", "train", "--run-dir", run_dir, "--data", photo_folder,
                       "--variant-options", json.dumps(TINY_FAST), "--size", "16",
                       "--batch-size", "2", "--steps", "12", "--val-photos", "2",
                       "--log-every", "1", "--eval-every", "1", "--lr", "1e6",
                       "--lr-schedule", "constant", "--precision", "float32")
    assert status == 1
    assert err.startswith("error: training diverged at step ") and err.count("\n") == 1, err
    assert "--lr" in err

    def strict(constant):
        raise AssertionError(f"{constant} in history.jsonl is not JSON")

    for line in (run_dir / "history.jsonl").read_text().splitlines():
        json.loads(line, parse_constant=strict)
    assert not (run_dir / "final.weights.h5").exists()
    if (run_dir / "best.weights.h5").exists():
        assert all(np.isfinite(w).all() for w in _weights(run_dir, "best.weights.h5"))
        assert np.isfinite(json.loads((run_dir / "best.json").read_text())["val_loss"])


# ------------------------------------------------------------------ 8. out of memory


def test_out_of_memory_ends_in_one_line_and_leaves_no_final_weights(photo_folder, tmp_path,
                                                                    capsys, monkeypatch):
    # What TensorFlow raises when a batch does not fit (a real one takes minutes and
    # gigabytes): raised where the real one is, from inside the compiled step.
    def out_of_memory(*args, **kwargs):
        raise tf.errors.ResourceExhaustedError(
            None, None, "OOM when allocating tensor with shape[40,16,16,8]")

    monkeypatch.setattr(train, "gradients", out_of_memory)
    run_dir = tmp_path / "run"
    status, err = _cli(capsys, "--quiet", "train", "--run-dir", run_dir, "--data", photo_folder,
                       "--variant-options", json.dumps(TINY_FAST), "--size", "16",
                       "--batch-size", "40", "--steps", "4")
    assert status == 1
    assert err.startswith("error: out of memory") and err.count("\n") == 1, err
    assert "--batch-size" in err and "batches of 40 pairs" in err
    assert not (run_dir / "final.weights.h5").exists()
    assert not list(run_dir.glob("*.weights.h5"))
    assert not list((run_dir / "checkpoints").glob("ckpt-*"))


# ------------------------------------------------------------ 9. model card fields


@pytest.fixture()
def shipped(tiny_run, tmp_path, monkeypatch):
    weights_dir = tmp_path / "shipped"
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", weights_dir)
    pretrained.export(tiny_run, "tiny")
    return weights_dir


@pytest.mark.parametrize("case,expected", [
    ("no-sha256", "has no 'sha256' field"),
    ("no-weights", "has no 'weights' field"),
    ("no-config", "has no 'config' field"),
    ("sha256-null", "has sha256 None: expected the SHA-256"),
    ("a-list", "must be a JSON object"),
])
def test_model_card_fields_are_checked_by_name(shipped, photo_folder, tmp_path, capsys, case,
                                               expected):
    path = shipped / "tiny.json"
    card = json.loads(path.read_text())
    if case == "a-list":
        card = [card]
    elif case == "sha256-null":
        card["sha256"] = None
    else:
        del card[case.split("-", 1)[1]]
    path.write_text(json.dumps(card))
    with pytest.raises(ValueError, match=expected):
        pretrained.load("tiny")
    status, err = _cli(capsys, "hide", "--cover", photo_folder / "photo0.png", "--secret",
                       photo_folder / "photo1.png", "--out", tmp_path / "c.png", "--model",
                       "tiny")
    assert status == 1 and err.count("\n") == 1 and "tiny.json" in err and expected in err, err


# ------------------------------------------------- 10. run folders check their hashes


def test_a_changed_byte_in_a_run_folders_weights_fails_to_load(tiny_run, photo_folder,
                                                               tmp_path, capsys):
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run, run_dir)
    pretrained.load(run_dir)  # intact: loads
    path = run_dir / "best.weights.h5"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="best.weights.h5 .* does not match the hash"):
        pretrained.load(run_dir)
    status, err = _cli(capsys, "hide", "--cover", photo_folder / "photo0.png", "--secret",
                       photo_folder / "photo1.png", "--out", tmp_path / "c.png", "--model",
                       run_dir)
    assert status == 1 and err.count("\n") == 1 and "does not match the hash" in err, err
    assert not (tmp_path / "c.png").exists()


# -------------------------------------------------------- 11. orphaned temporary files


_PNG_KILL = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    from PIL import Image
    from stegutils import data

    def save(self, stream, *args, **kwargs):   # killed half way through writing
        stream.write(b"\\x89PNG\\r\\n\\x1a\\n half a picture")
        stream.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    Image.Image.save = save
    data.save_image(sys.argv[1], np.zeros((8, 8, 3)))
    """
)


def test_temporary_files_a_killed_png_save_left_are_removed_by_the_next(photo_folder,
                                                                        tiny_run, tmp_path,
                                                                        capsys):
    out = tmp_path / "out"
    out.mkdir()
    script = tmp_path / "kill.py"
    script.write_text(_PNG_KILL)
    result = subprocess.run([sys.executable, str(script), str(out / "c.png")], env=ENV,
                            timeout=300)
    assert result.returncode == -signal.SIGKILL
    orphans = [p.name for p in out.iterdir()]
    assert len(orphans) == 1 and orphans[0].endswith(".tmp"), orphans
    status, err = _cli(capsys, "hide", "--cover", photo_folder / "photo0.png", "--secret",
                       photo_folder / "photo1.png", "--out", out / "c.png", "--model", tiny_run)
    assert status == 0, err
    assert [p.name for p in out.iterdir()] == ["c.png"]


def test_temporary_files_a_killed_run_left_are_removed_on_resume(photo_folder, reference,
                                                                 stopped_at_8, tmp_path,
                                                                 capsys):
    run_dir = tmp_path / "run"
    shutil.copytree(stopped_at_8, run_dir)
    # Back to step 4 (as a kill between the checkpoints at 4 and 8 would leave it), then
    # a real process resumes and is killed as it rewrites the history.
    for path in (run_dir / "checkpoints").glob("ckpt-8*"):
        path.unlink()
    (run_dir / "checkpoints" / "checkpoint").write_text(
        'model_checkpoint_path: "ckpt-4"\nall_model_checkpoint_paths: "ckpt-4"\n')
    status, out, err = _finish(_start(tmp_path, run_dir, "history-write", data=str(photo_folder)))
    assert status == -signal.SIGKILL, err[-2000:]
    assert [p for p in _temporaries(run_dir) if "history" in p], _temporaries(run_dir)
    status, err = _resume(capsys, run_dir)
    assert status == 0, err
    assert "removed 1 temporary file(s)" in err and ".history.jsonl." in err
    assert _temporaries(run_dir) == []
    _assert_same_weights(run_dir, reference)
    assert _history_steps(run_dir) == [2, 4, 6, 8, 10, 12]


# ------------------------------- fault injection: a kill at each write of a checkpoint

# A SIGKILL loses nothing the process wrote (the system keeps it), so what it leaves on
# disk is the folder as it is at that instant. One run copies its folder at each write
# point of the checkpoint at step 8 (and of the final weights at step 12): each copy is
# the folder a kill there leaves, and each must resume to the uninterrupted result.
_WRITE_POINTS = [
    "checkpoint-started",   # ckpt-8 about to be written
    "shard-written",        # its shard in ckpt-8_temp/, not merged yet
    "merged",               # ckpt-8.index and .data complete, the index not updated
    "index-temp",           # the new index beside the old one, not renamed yet
    "sweeping",             # ckpt-4.index deleted, ckpt-4.data not yet
    "swept",                # ckpt-4 gone, the index not rewritten without it
    "checkpoint-saved",     # all done
    "final-written",        # final.weights.h5 written to its temporary file
    "final-hash",           # final.weights.h5 in place, its hash not recorded yet
]


@pytest.fixture(scope="module")
def crash_states(photo_folder, tmp_path_factory):
    from tensorflow.python.checkpoint import checkpoint_management
    from tensorflow.python.lib.io import file_io
    from tensorflow.python.ops import gen_io_ops

    base = tmp_path_factory.mktemp("crashes")
    run_dir = base / "run"
    state = {"at": None, "records": 0, "deletes": 0, "renames": 0}
    copies = {}

    def copy(point):
        assert point not in copies, point
        copies[point] = base / point
        shutil.copytree(run_dir, copies[point])

    patches = pytest.MonkeyPatch()

    def wrap(owner, name, point, when=lambda: True):
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            if state["at"] == 8 and when():
                copy(point)
            return original(*args, **kwargs)
        patches.setattr(owner, name, wrapper)

    def count(key, value):
        state[key] += 1
        return state[key] == value

    save = tf.train.CheckpointManager.save

    def save_checkpoint(self, checkpoint_number=None, **kwargs):
        state["at"] = checkpoint_number
        if checkpoint_number == 8:
            copy("checkpoint-started")
        path = save(self, checkpoint_number=checkpoint_number, **kwargs)
        if checkpoint_number == 8:
            copy("checkpoint-saved")
        state["at"] = None
        return path

    real_replace = os.replace

    def replace(source, target, *args, **kwargs):
        name = pathlib.Path(target).name
        if name == "final.weights.h5":
            copy("final-written")
        real_replace(source, target, *args, **kwargs)
        if name == "final.weights.h5":
            copy("final-hash")

    patches.setattr(tf.train.CheckpointManager, "save", save_checkpoint)
    wrap(gen_io_ops, "merge_v2_checkpoints", "shard-written")
    wrap(checkpoint_management, "update_checkpoint_state_internal", "merged",
         lambda: count("records", 1))
    wrap(file_io, "rename", "index-temp", lambda: count("renames", 1))
    wrap(file_io, "delete_file", "sweeping", lambda: count("deletes", 2))
    wrap(checkpoint_management, "update_checkpoint_state_internal", "swept",
         lambda: state["records"] == 1 and count("records", 2))
    patches.setattr(train.os, "replace", replace)
    try:
        # Keep one checkpoint, so that saving ckpt-8 also deletes ckpt-4.
        train.Trainer(_config(photo_folder, keep_checkpoints=1), run_dir).fit(progress=False)
    finally:
        patches.undo()
    assert sorted(copies) == sorted(_WRITE_POINTS)
    return copies


@pytest.mark.parametrize("point", _WRITE_POINTS)
def test_a_kill_at_each_write_point_of_a_checkpoint_resumes_exactly(crash_states, reference,
                                                                    tmp_path, capsys, point):
    run_dir = tmp_path / "run"
    shutil.copytree(crash_states[point], run_dir)
    status, err = _resume(capsys, run_dir)
    assert status == 0, err
    assert "Traceback" not in err and "damaged" not in err, err
    _assert_same_weights(run_dir, reference)
    assert _history_steps(run_dir) == [2, 4, 6, 8, 10, 12]
    assert _temporaries(run_dir) == []
    numbers = sorted(int(p.name[5:-6]) for p in (run_dir / "checkpoints").glob("ckpt-*.index"))
    assert numbers == [12] and _checkpoint_state(run_dir, 12) == (12, 12)
    pretrained.load(run_dir)  # its weights match their recorded hash


def test_a_real_kill_while_the_checkpoint_index_is_replaced_resumes_exactly(
        photo_folder, reference, tmp_path, capsys):
    # The same as the "index-temp" copy above, with a real process and a real SIGKILL.
    run_dir = tmp_path / "run"
    status, _, err = _finish(_start(tmp_path, run_dir, "kill-replacing-index",
                                    data=str(photo_folder), keep_checkpoints=1))
    assert status == -signal.SIGKILL, err[-2000:]
    assert [p for p in _temporaries(run_dir) if p.startswith("checkpoints/checkpoint.tmp")]
    status, err = _resume(capsys, run_dir)
    assert status == 0, err
    _assert_same_weights(run_dir, reference)
    assert _history_steps(run_dir) == [2, 4, 6, 8, 10, 12]
    assert _temporaries(run_dir) == []
