"""Files written whole or not at all, and their hashes.

Every file the library writes (an image, a run folder's JSON, a weights file and its
card) is made as a temporary file beside its place and then renamed over it in one step
(``os.replace``), so that a reader never sees half a file and a failure leaves the old
file as it was. A temporary file names its writer (``.NAME.PID.RANDOM.tmp`` beside
``NAME``): a writer that is killed cannot remove its own, and the next writer in that
folder removes those whose process is gone (:func:`remove_orphaned_temporaries`), never
one that is still being written.

This module is the lowest layer of the package: it imports nothing from it.

Introduced in chapter 2 (Preparing the data), where images are saved.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pathlib
import re
import tempfile

__all__ = ["temporary_file", "process_running", "remove_orphaned_temporaries",
           "replacing", "replacing_together", "write_bytes_atomic", "write_text_atomic",
           "sha256"]

_TEMPORARY = re.compile(r"^\..+\.(?P<pid>\d+)\.[A-Za-z0-9_]+\.tmp(\.weights\.h5)?$")


def temporary_file(path, *, suffix=".tmp"):
    """Create the temporary file that will replace ``path``: ``(descriptor, name)``.

    It lies in the same folder (so that ``os.replace`` is atomic) and its name carries
    this process's id, so that :func:`remove_orphaned_temporaries` can tell an orphan
    from a file another process is writing right now. ``suffix`` is ``".tmp"`` or
    ``".tmp.weights.h5"`` (Keras reads weights only from files named so).
    """
    path = pathlib.Path(path)
    return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.",
                            suffix=suffix)


def process_running(pid: int) -> bool:
    """Whether a process with this id runs (one of another user's counts)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, but belongs to someone else
        return True
    except OSError:
        return False
    return True


def remove_orphaned_temporaries(folder) -> list[pathlib.Path]:
    """Remove the temporary files in ``folder`` left by writers that were killed.

    Only files named as :func:`temporary_file` names them, of processes that no longer
    run, are removed. Returns the paths removed.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if not match or int(match["pid"]) == os.getpid() or process_running(int(match["pid"])):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(pathlib.Path(entry.path))
    return removed


def _sync(path):
    # On disk before the rename, so that a power cut cannot leave a renamed, empty file.
    with open(path, "rb") as stream:
        os.fsync(stream.fileno())


def _mode_for(path):
    # mkstemp makes files private (0600); give the new file the mode of the one it
    # replaces, else the mode a new file would have.
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o644


@contextlib.contextmanager
def replacing_together(paths, *, suffixes=None):
    """Make the files that will replace ``paths``, and put them in place together.

    Yields one temporary path per target (beside it, named by :func:`temporary_file`;
    ``suffixes`` gives each one's suffix, default ``".tmp"``). Fill them in the block.
    When it ends without an error, each is synced to disk, then they replace their
    targets one rename each, in the order given (a crash between two renames leaves the
    first new and the rest old); on an error nothing is replaced. The temporary files
    never outlive the block.
    """
    paths = [pathlib.Path(path) for path in paths]
    suffixes = list(suffixes or [".tmp"] * len(paths))
    temporaries = []
    try:
        for path, suffix in zip(paths, suffixes, strict=True):
            descriptor, name = temporary_file(path, suffix=suffix)
            os.close(descriptor)
            temporaries.append(pathlib.Path(name))
        yield list(temporaries)
        for temporary in temporaries:
            _sync(temporary)
        for path, temporary in zip(paths, temporaries):
            os.chmod(temporary, _mode_for(path))
            os.replace(temporary, path)
    finally:
        for temporary in temporaries:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


@contextlib.contextmanager
def replacing(path, *, suffix=".tmp"):
    """:func:`replacing_together` for one file: yields its temporary path."""
    with replacing_together([path], suffixes=[suffix]) as (temporary,):
        yield temporary


def write_bytes_atomic(path, write) -> pathlib.Path:
    """Write a file atomically: ``write(stream)`` fills a binary stream that replaces
    ``path`` once it is complete and on disk. Returns the path. ``write`` may also be
    ``bytes``.
    """
    path = pathlib.Path(path)
    with replacing(path) as temporary, open(temporary, "wb") as stream:
        if isinstance(write, (bytes, bytearray)):
            stream.write(write)
        else:
            write(stream)
    return path


def write_text_atomic(path, text: str) -> pathlib.Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, making its folder if missing."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_bytes_atomic(path, text.encode("utf-8"))


def sha256(path) -> str:
    """The SHA-256 of a file, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
