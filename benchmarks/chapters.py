"""How long each chapter takes to run, in fast mode and in full mode, written for the book.

    python benchmarks/chapters.py [--modes fast full] [--chapters 05_training 06 ...]
                                  [--timeout 3600] [--keep-outputs DIR] [--out FILE]

    python benchmarks/chapters.py --modes fast    # every chapter in fast mode: minutes
    python benchmarks/chapters.py --modes full    # as a reader runs them: on a quiet machine

Executes each chapter notebook of ``book/`` from top to bottom, as the book's build
does (a fresh kernel, working directory ``book/``, cells tagged ``skip-execution``
skipped, ``raises-exception`` cells allowed to fail), once per mode: ``fast`` sets
``STEGUTILS_FAST=1`` (a few training steps, small images), ``full`` runs the chapter as
a reader does. ``STEGUTILS_DATA`` and the rest of the environment pass through to the
kernel. The time of a chapter is the wall time from starting its kernel to shutting it
down.

Results go to ``benchmarks/results/chapters.json``, merged with what is there: a run of
some chapters or one mode replaces only those entries, so the slow full-mode
measurement can be made separately, on a quiet machine. Times measured on a machine
with a GPU are stored apart (``gpu_fast_s``, ``gpu_full_s``). Every time names the run
that measured it, and each run records the machine, the date, this exact command, the
git commit, and the load average when it started and ended, so a reader can tell a
measurement made on a busy machine. The file is rewritten (atomically) after every
chapter, so an interrupted run keeps what it measured. The chapters print their own
timing from this file (``stegutils.timings.note``); the instructor's page shows the
whole table. Nothing here is a test: a chapter that fails is reported, recorded with
its error, and makes the command exit with status 1.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BOOK = ROOT / "book"
RESULTS = ROOT / "benchmarks" / "results" / "chapters.json"
MODES = ("fast", "full")


def chapter_names():
    """The chapters, by notebook stem, in reading order (book/NN_name.ipynb)."""
    return sorted(path.stem for path in BOOK.glob("[0-9][0-9]_*.ipynb"))


def resolve_chapters(requested, known):
    """Chapter stems for ``requested`` names or unique prefixes ("05", "05_training")."""
    if not requested:
        return list(known)
    chosen = []
    for name in requested:
        name = pathlib.Path(name).stem  # accept book/05_training.ipynb too
        matches = [stem for stem in known if stem == name] or \
                  [stem for stem in known if stem.startswith(name)]
        if len(matches) != 1:
            raise SystemExit(f"chapters.py: {name!r} matches {len(matches)} chapters; "
                             f"known: {', '.join(known)}")
        if matches[0] not in chosen:
            chosen.append(matches[0])
    return chosen


def execute(path, *, fast, timeout, keep_dir=None):
    """Run one notebook in a fresh kernel; return (seconds, error message or None)."""
    import nbclient
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    kernel = notebook.metadata.get("kernelspec", {}).get("name", "python3")
    saved = os.environ.get("STEGUTILS_FAST")
    # The kernel inherits this process's environment (STEGUTILS_DATA included).
    if fast:
        os.environ["STEGUTILS_FAST"] = "1"
    else:
        os.environ.pop("STEGUTILS_FAST", None)
    client = nbclient.NotebookClient(notebook, timeout=timeout, kernel_name=kernel,
                                     resources={"metadata": {"path": str(path.parent)}})
    error = None
    start = time.perf_counter()
    try:
        # The kernel's own log (TensorFlow's start-up lines) would bury the table; what
        # the cells print and any error they raise reach nbclient either way.
        client.execute(stderr=subprocess.DEVNULL)
    except Exception as failure:  # noqa: BLE001 - a failed chapter is a result too
        lines = [line for line in str(failure).splitlines() if line.strip()]
        error = f"{type(failure).__name__}: {lines[-1] if lines else failure}"[:500]
    finally:
        seconds = time.perf_counter() - start
        if saved is None:
            os.environ.pop("STEGUTILS_FAST", None)
        else:
            os.environ["STEGUTILS_FAST"] = saved
    if keep_dir is not None:
        keep_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, keep_dir / f"{path.stem}.{'fast' if fast else 'full'}.ipynb")
    return seconds, error


def recorded_command(argv):
    """The command as the results file records it: ``--keep-outputs DIR`` only says where
    to put copies of the executed notebooks, and a private path has no place there."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--keep-outputs":
            skip = True
            continue
        if arg.startswith("--keep-outputs="):
            continue
        kept.append(arg)
    return " ".join(["python benchmarks/chapters.py", *kept])


def _git(*args):
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _data_source():
    """Which photos the chapters will find: BSDS500 (local or cached) or the built-in set."""
    from stegutils import data

    try:
        data.bsds500_paths("train", download=False)
        data.bsds500_paths("test", download=False)
    except (FileNotFoundError, ValueError):
        return "builtin (BSDS500 not found; the chapters fall back to the built-in photos)"
    return "bsds500"


def _load_average():
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def read_results(path):
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return results if isinstance(results, dict) else {}


def merge(previous, run_id, run, measured, known):
    """The results file after this run: ``previous`` with ``measured`` put in.

    ``measured`` maps (chapter, key) to seconds or to an error, where key is ``fast``,
    ``full``, ``gpu_fast`` or ``gpu_full``. Entries of other chapters and modes are
    kept; chapters whose notebook is gone are dropped, and so are runs no entry names.
    """
    chapters = previous.get("chapters") if isinstance(previous.get("chapters"), dict) else {}
    chapters = {name: dict(entry) for name, entry in chapters.items()
                if name in known and isinstance(entry, dict)}
    for (chapter, key), (seconds, error) in measured.items():
        entry = chapters.setdefault(chapter, {})
        for suffix in ("_s", "_run", "_error"):
            entry.pop(key + suffix, None)
        entry[f"{key}_run"] = run_id
        if error is None:
            entry[f"{key}_s"] = round(seconds, 1)
        else:
            entry[f"{key}_error"] = error
    runs = previous.get("runs") if isinstance(previous.get("runs"), dict) else {}
    runs = dict(runs, **{run_id: run})
    named = {value for entry in chapters.values() for field, value in entry.items()
             if field.endswith("_run")}
    runs = {key: value for key, value in sorted(runs.items()) if key in named}
    return {
        "command": run["command"],
        "machine": run["machine"],
        "date": run["date"],
        "gpu_measured": any(field.startswith("gpu_") and field.endswith("_s")
                            for entry in chapters.values() for field in entry),
        "chapters": dict(sorted(chapters.items())),
        "runs": runs,
    }


def table(results, this_run=None):
    """The results as a text table; times measured by ``this_run`` are marked with *."""
    from stegutils import timings

    chapters = results.get("chapters", {})
    keys = [key for key in ("fast", "full", "gpu_fast", "gpu_full")
            if any(f"{key}_s" in entry or f"{key}_error" in entry
                   for entry in chapters.values())] or ["fast", "full"]
    lines = [f"{'chapter':16}" + "".join(f"{key.replace('_', ' '):>14}" for key in keys)]
    for name, entry in chapters.items():
        cells = []
        for key in keys:
            mark = "*" if this_run and entry.get(f"{key}_run") == this_run else " "
            if f"{key}_s" in entry:
                cells.append(f"{timings.format_duration(entry[f'{key}_s']):>13}{mark}")
            elif f"{key}_error" in entry:
                cells.append(f"{'FAILED':>13}{mark}")
            else:
                cells.append(f"{'-':>13} ")
        lines.append(f"{name:16}" + "".join(cells))
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--chapters", nargs="+", default=None,
                        help="notebook stems or unique prefixes (default: every chapter)")
    parser.add_argument("--timeout", type=int, default=3600,
                        help="seconds one cell may run (default 3600)")
    parser.add_argument("--keep-outputs", type=pathlib.Path, default=None, metavar="DIR",
                        help="also write the executed notebooks into DIR")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)

    known = chapter_names()
    chosen = resolve_chapters(args.chapters, known)
    from stegutils import models, train

    load_start = _load_average()
    machine = models.machine_description()
    gpu = bool(machine.get("gpus"))
    now = datetime.datetime.now()
    run_id = now.strftime("%Y-%m-%dT%H:%M:%S")
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--", "book", "stegutils"))
    run = {
        "command": recorded_command(argv),
        "date": now.strftime("%Y-%m-%d"),
        "started": run_id,
        "machine": machine,
        "device": "gpu" if gpu else "cpu",
        "commit": commit + (" (with uncommitted changes in book/ or stegutils/)"
                            if dirty else ""),
        "data": _data_source(),
        "modes": list(args.modes),
        "chapters": chosen,
        "load_average_start": load_start,
    }
    print(f"{len(chosen)} chapters x {len(args.modes)} modes on "
          f"{'a GPU' if gpu else f'{os.cpu_count()} CPUs'}; load average at start "
          f"{load_start}; data: {run['data']}", flush=True)
    measured = {}
    failed = []
    for mode in args.modes:
        for chapter in chosen:
            print(f"  {mode:4} {chapter:16} ...", end=" ", flush=True)
            seconds, error = execute(BOOK / f"{chapter}.ipynb", fast=(mode == "fast"),
                                     timeout=args.timeout, keep_dir=args.keep_outputs)
            key = f"{'gpu_' if gpu else ''}{mode}"
            measured[(chapter, key)] = (seconds, error)
            print(f"{seconds:7.1f} s" + (f"  FAILED: {error}" if error else ""), flush=True)
            if error:
                failed.append(f"{chapter} ({mode})")
            run["load_average_end"] = _load_average()
            results = merge(read_results(args.out), run_id, run, measured, known)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            train.write_json_atomic(args.out, results)
    print()
    print(table(results, this_run=run_id))
    print(f"(* measured by this run; load average at start {load_start}, at end "
          f"{run['load_average_end']})")
    print(f"wrote {args.out}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
