"""How long each chapter takes to run, as ``benchmarks/chapters.py`` measured it.

``python benchmarks/chapters.py`` executes every chapter notebook, in fast mode
(``STEGUTILS_FAST=1``: a few training steps, small images) and in full mode, and writes
the wall times to ``benchmarks/results/chapters.json``::

    {"command": "python benchmarks/chapters.py ...", "machine": {...}, "date": "YYYY-MM-DD",
     "gpu_measured": false,
     "chapters": {"05_training": {"fast_s": 41.2, "full_s": 512.0, ...}, ...},
     "runs": {"RUN-ID": {"machine": {...}, "load_average_start": [...], ...}}}

Times measured on a GPU are stored as ``gpu_fast_s`` and ``gpu_full_s``; each time
names the run that measured it (``fast_run``, ``full_run``, ...) so that a page can say
on which machine, and how busy it was. The chapters that train print one sentence from
this file near their top (:func:`note`). Nothing here imports TensorFlow, and nothing
here raises: a missing or malformed file gives "not measured yet".

Introduced in chapter 5 (Training).
"""

from __future__ import annotations

import json
import math
import pathlib

from . import results as _results

__all__ = ["RESULTS_NAME", "MODES", "find", "load", "seconds", "describe_machine",
           "format_duration", "note"]

#: The results file, relative to the repository.
RESULTS_NAME = pathlib.Path("benchmarks") / "results" / "chapters.json"

#: The two ways a chapter runs: ``fast`` (``STEGUTILS_FAST=1``) and ``full``.
MODES = ("fast", "full")

_NOT_MEASURED = ("Timings for this page have not been measured yet "
                 "(run python benchmarks/chapters.py).")


def find(path=None) -> pathlib.Path | None:
    """The results file: ``path`` if given, else the first of the usual places that exists.

    The usual places are those of :func:`stegutils.book.results.find`: ``benchmarks/results/``
    in the repository that holds the package, under the parent of the working directory
    (a notebook run from ``book/``), under the working directory, then the copy inside
    an installed package. Returns ``None`` if there is none.
    """
    if path is not None:
        path = pathlib.Path(path)
        return path if path.is_file() else None
    return _results.find(RESULTS_NAME.name)


def load(path=None) -> dict | None:
    """The timings file as a dict, or ``None`` if it is missing, unreadable or malformed.

    Parameters
    ----------
    path : path, optional
        Read this file instead of looking in the usual places (see :func:`find`).

    Introduced in chapter 5 (Training).
    """
    try:
        found = find(path)
        if found is None:
            return None
        results = json.loads(found.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(results, dict) or not isinstance(results.get("chapters", {}), dict):
        return None
    return results


def seconds(results: dict | None, chapter: str, mode: str, *, gpu: bool = False):
    """The measured wall time of ``chapter`` in ``mode`` (seconds), or ``None``.

    ``chapter`` is the notebook's stem (``"05_training"``); ``mode`` is ``"fast"`` or
    ``"full"``; ``gpu=True`` asks for the time measured on a GPU.
    """
    try:
        entry = results["chapters"][chapter]
        value = entry[f"{'gpu_' if gpu else ''}{mode}_s"]
        value = float(value)
    except (KeyError, TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _run(results, chapter, mode, gpu):
    """The record of the run that measured this time (machine, load), or ``{}``."""
    try:
        run_id = results["chapters"][chapter][f"{'gpu_' if gpu else ''}{mode}_run"]
        run = results["runs"][run_id]
        return run if isinstance(run, dict) else {}
    except (KeyError, TypeError):
        return {}


def _machine(results, chapter, mode, gpu):
    machine = _run(results, chapter, mode, gpu).get("machine")
    if not isinstance(machine, dict):
        machine = results.get("machine") if isinstance(results, dict) else None
    return machine if isinstance(machine, dict) else {}


def describe_machine(machine: dict | None, *, gpu: bool = False) -> str:
    """A few words for a machine description: "a 2-core CPU (AMD EPYC, TensorFlow 2.21.0)".

    ``machine`` is what :func:`stegutils.models.machine_description` returns; missing
    fields are left out.
    """
    machine = machine if isinstance(machine, dict) else {}
    details = []
    if gpu:
        # TensorFlow names GPUs by device path only ("/physical_device:GPU:0").
        gpus = machine.get("gpus")
        count = len(gpus) if isinstance(gpus, list) else 0
        head = f"{count} GPUs" if count > 1 else "a GPU"
    else:
        cpus = machine.get("cpus")
        head = f"a {cpus}-core CPU" if isinstance(cpus, int) and cpus > 0 else "a CPU"
        if machine.get("cpu"):
            details.append(str(machine["cpu"]))
    if machine.get("tensorflow"):
        details.append(f"TensorFlow {machine['tensorflow']}")
    return head + (f" ({', '.join(details)})" if details else "")


def format_duration(value: float) -> str:
    """Seconds in words: "41 seconds", "8.5 minutes", "1.2 hours"."""
    if value < 90:
        whole = max(1, round(value))
        return f"{whole} second{'s' if whole != 1 else ''}"
    if value < 90 * 60:
        return f"{value / 60:.1f} minutes"
    return f"{value / 3600:.1f} hours"


def _busy(results, chapter, modes, gpu):
    """A sentence when a measurement started on a busy machine (load above half its cores)."""
    loads = []
    for mode in modes:
        run = _run(results, chapter, mode, gpu)
        machine = run.get("machine") if isinstance(run.get("machine"), dict) else {}
        cpus = machine.get("cpus")
        try:
            first = float(run.get("load_average_start")[0])
        except (TypeError, ValueError, IndexError, KeyError):
            continue
        if isinstance(cpus, int) and cpus > 0 and first > 0.5 * cpus:
            loads.append((first, cpus))
    if not loads:
        return None
    first, cpus = max(loads)
    return (f"The machine was busy when this was measured (load average {first:.1f} on "
            f"{cpus} cores), so expect less on a quiet one.")


def _clause_for(results, chapter, gpu):
    """(clause, remarks) for the CPU or the GPU times of a chapter, or ``None``."""
    times = {mode: seconds(results, chapter, mode, gpu=gpu) for mode in MODES}
    measured = [mode for mode in MODES if times[mode] is not None]
    if not measured:
        return None
    machines = {mode: describe_machine(_machine(results, chapter, mode, gpu), gpu=gpu)
                for mode in measured}
    full, fast = times["full"], times["fast"]
    page = "it" if gpu else "this page"  # the GPU clause follows the CPU one
    remarks = []
    if full is not None and fast is not None and machines["full"] == machines["fast"]:
        clause = (f"on {machines['full']} {page} ran in {format_duration(full)}, "
                  f"{format_duration(fast)} in fast mode")
    elif full is not None and fast is not None:
        clause = (f"on {machines['full']} {page} ran in {format_duration(full)}, and on "
                  f"{machines['fast']} in {format_duration(fast)} in fast mode")
    elif full is not None:
        clause = f"on {machines['full']} {page} ran in {format_duration(full)}"
    else:
        clause = (f"on {machines['fast']} {page} ran in {format_duration(fast)} in fast "
                  "mode")
        remarks.append(f"The full run{' on a GPU' if gpu else ''} has not been measured yet.")
    busy = _busy(results, chapter, measured, gpu)
    if busy:
        remarks.append(busy)
    return clause, remarks


def note(chapter: str, *, path=None, quiet: bool = False) -> str:
    """Print and return one sentence: how long this chapter takes, on a CPU and on a GPU.

    Parameters
    ----------
    chapter : str
        The notebook's stem, e.g. ``"05_training"``.
    path : path, optional
        The timings file (default: found by :func:`find`).
    quiet : bool, optional
        Return the sentence without printing it.

    Returns
    -------
    str
        For example "On a 2-core CPU (AMD EPYC, TensorFlow 2.21.0) this page ran in 8.5
        minutes, 41 seconds in fast mode; on a GPU it has not been measured." A short
        sentence follows when only fast mode was measured, or when the machine was busy
        during the measurement (its load average, recorded at the start, above half its
        cores). Without a file or an entry for the chapter: "Timings for this page have
        not been measured yet (run python benchmarks/chapters.py)." It never raises.

    Introduced in chapter 5 (Training).
    """
    try:
        results = load(path)
        cpu = gpu = None
        if results is not None:
            cpu = _clause_for(results, str(chapter), gpu=False)
            gpu = _clause_for(results, str(chapter), gpu=True)
        if cpu is None and gpu is None:
            sentence = _NOT_MEASURED
        else:
            cpu_clause, cpu_remarks = cpu or ("on a CPU this page has not been measured yet",
                                              [])
            gpu_clause, gpu_remarks = gpu or ("on a GPU it has not been measured", [])
            sentence = " ".join([f"{cpu_clause[0].upper()}{cpu_clause[1:]}; {gpu_clause}.",
                                 *cpu_remarks, *gpu_remarks])
    except Exception:  # noqa: BLE001 - a timing note must never stop a chapter
        sentence = _NOT_MEASURED
    if not quiet:
        try:
            print(sentence)
        except Exception:  # noqa: BLE001 - e.g. a closed stdout
            pass
    return sentence
