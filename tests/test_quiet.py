"""TensorFlow's start-up lines stay off standard error unless asked for."""

import os
import re
import subprocess
import sys

NOISE = re.compile(r"^(WARNING: All log messages before absl|[IWEF]\d{4} |.*cuInit|.*cuda)",
                   re.MULTILINE | re.IGNORECASE)

SCRIPT = ("import sys\n"
          "from stegutils import quiet\n"
          "tf = quiet.import_tensorflow()\n"
          "tf.constant(1.0) + 1.0\n"
          "print('python stderr still works', file=sys.stderr)\n"
          "print(tf.__version__)\n")


def _run(**env_changes):
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "STEGUTILS_DEBUG")}
    env.update(env_changes)
    return subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, timeout=300, check=True)


def test_import_tensorflow_keeps_native_start_up_lines_off_stderr():
    done = _run()
    assert not NOISE.search(done.stderr), done.stderr
    assert "python stderr still works" in done.stderr
    assert done.stdout.strip()


def test_without_the_quiet_import_the_lines_are_there_and_debug_lets_them_through():
    # The check above must be able to fail: a plain import prints the lines here.
    plain = subprocess.run([sys.executable, "-c", "import tensorflow as tf; tf.constant(1.0)"],
                           capture_output=True, text=True, timeout=300, check=True,
                           env={k: v for k, v in os.environ.items()
                                if k != "TF_CPP_MIN_LOG_LEVEL"})
    if not NOISE.search(plain.stderr):
        import pytest

        pytest.skip("this TensorFlow build prints no start-up lines here")
    debug = _run(STEGUTILS_DEBUG="1")
    assert NOISE.search(debug.stderr)


def test_every_chapter_imports_tensorflow_quietly_before_anything_else_does():
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for path in sorted((root / "book").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
        first = next(i for i, s in enumerate(code) if "tensorflow" in s or "import_tensorflow" in s)
        assert "tf = import_tensorflow()" in code[first], (
            f"{path.name}: the first cell that touches TensorFlow should import it with "
            "stegutils.quiet.import_tensorflow()")
