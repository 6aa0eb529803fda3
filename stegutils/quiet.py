"""TensorFlow without its start-up noise.

Importing TensorFlow and creating its first device print lines from its C++ runtime
straight to the process's standard error: "All log messages before
absl::InitializeLog() is called are written to STDERR", "Could not find cuda drivers on
your machine", and, on any machine without a GPU, ``E0000 ... failed call to cuInit``,
which reads like a failure to anyone. ``TF_CPP_MIN_LOG_LEVEL`` does not silence all of
them, because some are written before TensorFlow reads it. :func:`import_tensorflow`
imports TensorFlow and initialises its devices with the process's standard error (file
descriptor 2) pointed at ``/dev/null``, then puts it back, so the command line, the
notebooks and the playground show only their own messages. ``STEGUTILS_DEBUG=1`` (the
command line's ``--debug``) lets everything through.

Introduced in chapter 8 (Playground).
"""

from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["silenced_native_stderr", "debugging", "import_tensorflow"]


@contextlib.contextmanager
def silenced_native_stderr():
    """Point file descriptor 2 at ``/dev/null`` for the duration of the block.

    Python's own ``sys.stderr`` is flushed first and works again afterwards; only what
    native code writes to the descriptor meanwhile is dropped.
    """
    try:
        sys.stderr.flush()
    except (AttributeError, ValueError):
        pass
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 (some embedded interpreters): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def debugging() -> bool:
    """Whether ``STEGUTILS_DEBUG`` asks for everything (set, and not 0, false or no)."""
    return os.environ.get("STEGUTILS_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def import_tensorflow(*, debug: bool | None = None):
    """Import TensorFlow and create its devices quietly; return the module.

    Parameters
    ----------
    debug : bool, optional
        Let the start-up lines through (default: the ``STEGUTILS_DEBUG`` variable).
    """
    if debug is None:
        debug = debugging()
    if debug or getattr(import_tensorflow, "_done", False):
        import tensorflow as tf

        return tf
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with silenced_native_stderr():
        import tensorflow as tf

        # The first device query initialises CUDA (or fails to, quietly here).
        tf.config.list_physical_devices()
    import_tensorflow._done = True
    return tf
