"""Full-size photos through the command line, as a user runs it: time and peak memory.

Used by ``benchmarks/speed.py`` (its full-size section, measured in the same run as the
256 px figures). Each figure is one ``python -m stegutils`` process, from start-up
(importing TensorFlow, loading the model) to the last byte written, files read and
written as a user's would be:

- **photo**: hide a 4000x3000 pair (12 megapixels; JPEG files as a camera writes them,
  quality 95) into a PNG container, then reveal it to a PNG;
- **memory**: the same at 6000x6000 (36 megapixels, near the 40-megapixel limit of
  :data:`stegutils.data.MAX_PIXELS`), for the peak memory above all;
- **folder**: hide 100 pairs of 256 px PNG files in one command (``--cover-dir``,
  ``--secret-dir``, ``--out-dir``), then reveal the folder;
- **start-up**: ``stegutils models``, the fixed cost inside every figure above.

Wall time from ``time.perf_counter`` around the process; peak resident memory from the
kernel's own account of that process (``os.wait4``'s ``ru_maxrss``, what
``resource.getrusage(RUSAGE_CHILDREN)`` reports for the children waited for). The photos
are built-in photos enlarged to the size (their content decides how well the PNG
compresses, so they are photos, not noise). Targets: :data:`TARGETS`.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[1]

#: The issue's targets: 12-megapixel hide and reveal (seconds), peak memory of any
#: command up to 40 megapixels (bytes), 100 pairs at 256 px hidden in one command.
TARGETS = {"hide_seconds": 8.0, "reveal_seconds": 12.0, "peak_rss_bytes": 1.5e9,
           "folder_hide_seconds": 15.0}
#: The sizes measured: (width, height) of the photo and the memory check, and the
#: folder's pairs and side. ``QUICK`` is for checking the script, not for figures.
SIZES = {"photo": (4000, 3000), "memory": (6000, 6000), "folder_pairs": 100,
         "folder_size": 256}
QUICK = {"photo": (320, 240), "memory": (400, 400), "folder_pairs": 3, "folder_size": 32}


def parse_size(text):
    """``"4000x3000"`` -> ``(4000, 3000)`` (width, height)."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"expected a size like 4000x3000, got {text!r}") from None
    if width < 1 or height < 1:
        raise ValueError(f"expected a positive size like 4000x3000, got {text!r}")
    return width, height


def _photo(index):
    from stegutils import data

    photos = data.builtin_photos()
    return Image.fromarray(data.to_uint8(photos[index % len(photos)]))


def write_photo(path, size, index, *, quality=95):
    """A built-in photo enlarged to ``size`` (width, height), saved (JPEG or PNG)."""
    image = _photo(index).resize(size, Image.BICUBIC)
    if pathlib.Path(path).suffix.lower() in (".jpg", ".jpeg"):
        image.save(path, quality=quality)
    else:
        image.save(path)
    return path


def write_folder(folder, count, size, *, offset):
    """``count`` PNG crops of ``size`` px from the built-in photos, named 000.png..."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(offset)
    for index in range(count):
        photo = np.asarray(_photo(offset + index))
        if min(photo.shape[:2]) < size:
            photo = np.asarray(Image.fromarray(photo).resize((2 * size, 2 * size)))
        top = int(rng.integers(0, photo.shape[0] - size + 1))
        left = int(rng.integers(0, photo.shape[1] - size + 1))
        Image.fromarray(photo[top:top + size, left:left + size]).save(
            folder / f"{index:03d}.png")
    return folder


def run_cli(argv, *, workdir, env=None):
    """Run ``python -m stegutils ARGV``: wall seconds, peak RSS in bytes, exit status."""
    env = {**os.environ, **(env or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with tempfile.TemporaryFile(dir=workdir) as log:
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "stegutils", *argv],
                                   stdout=log, stderr=log, env=env, cwd=workdir)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        output = log.read().decode("utf-8", "replace")
    if process.returncode != 0:
        tail = output.strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"stegutils {' '.join(argv)} exited with "
                           f"{process.returncode}: {tail[0]}")
    # Linux reports ru_maxrss in kilobytes (macOS in bytes).
    scale = 1 if sys.platform == "darwin" else 1024
    return {"seconds": wall, "peak_rss_bytes": int(usage.ru_maxrss) * scale}


def measure(*, sizes=None, model=None, precision=None, workdir=None, log=print):
    """Every figure of the module's docstring; returns a JSON-ready dict.

    ``sizes``: :data:`SIZES` by default (any key set to None is skipped); ``model`` and
    ``precision``: passed to the command line when given (else its defaults).
    """
    sizes = {**SIZES, **(sizes or {})}
    options = []
    if model is not None:
        options += ["--model", str(model)]
    if precision is not None:
        options += ["--precision", precision]
    result = {"sizes": {k: list(v) if isinstance(v, tuple) else v for k, v in sizes.items()},
              "model": None if model is None else str(model), "precision": precision,
              "targets": TARGETS, "runs": {}}
    runs = result["runs"]
    with tempfile.TemporaryDirectory(prefix="stegutils-fullsize-", dir=workdir) as folder:
        folder = pathlib.Path(folder)
        runs["startup"] = run_cli(["models"], workdir=folder)
        log(f"  start-up (stegutils models): {runs['startup']['seconds']:.2f} s, "
            f"peak {runs['startup']['peak_rss_bytes'] / 1e9:.2f} GB")
        for key in ("photo", "memory"):
            if not sizes.get(key):
                continue
            width, height = sizes[key]
            cover = write_photo(folder / f"{key}-cover.jpg", (width, height), 0)
            secret = write_photo(folder / f"{key}-secret.jpg", (width, height), 1)
            container, revealed = folder / f"{key}-container.png", folder / f"{key}-secret.png"
            for step, argv in (
                    ("hide", ["hide", "--cover", cover.name, "--secret", secret.name, "--out",
                              container.name]),
                    ("reveal", ["reveal", container.name, "--out", revealed.name])):
                figure = run_cli(argv + options, workdir=folder)
                figure.update({"width": width, "height": height,
                               "megapixels": width * height / 1e6})
                runs[f"{key}_{step}"] = figure
                log(f"  {step:6} {width}x{height} ({width * height / 1e6:.1f} MP): "
                    f"{figure['seconds']:.2f} s, peak {figure['peak_rss_bytes'] / 1e9:.2f} GB")
            for path in (cover, secret, container, revealed):
                path.unlink()
        if sizes.get("folder_pairs"):
            count, side = sizes["folder_pairs"], sizes["folder_size"]
            covers = write_folder(folder / "covers", count, side, offset=0)
            secrets = write_folder(folder / "secrets", count, side, offset=1)
            for step, argv in (
                    ("hide", ["hide", "--cover-dir", "covers", "--secret-dir", "secrets",
                              "--out-dir", "containers"]),
                    ("reveal", ["reveal", "containers", "--out-dir", "revealed"])):
                figure = run_cli(argv + options, workdir=folder)
                figure.update({"pairs": count, "size": side})
                runs[f"folder_{step}"] = figure
                log(f"  {step:6} a folder of {count} pairs at {side} px: "
                    f"{figure['seconds']:.2f} s, peak {figure['peak_rss_bytes'] / 1e9:.2f} GB")
            written = len(list((folder / "containers").glob("*.png")))
            if written != count or not covers.is_dir() or not secrets.is_dir():
                raise RuntimeError(f"the folder hide wrote {written} containers of {count}")
    result["verdicts"] = verdicts(runs)
    return result


def verdicts(runs):
    """Each target met or not, from the runs that were measured."""
    out = {}
    for key, target, run in (("hide_seconds", TARGETS["hide_seconds"], runs.get("photo_hide")),
                             ("reveal_seconds", TARGETS["reveal_seconds"],
                              runs.get("photo_reveal")),
                             ("folder_hide_seconds", TARGETS["folder_hide_seconds"],
                              runs.get("folder_hide"))):
        if run is not None:
            out[key] = {"value": run["seconds"], "target": target,
                        "met": run["seconds"] < target}
    peaks = {name: run["peak_rss_bytes"] for name, run in runs.items()
             if name != "startup" and run.get("megapixels", 0) <= 40}
    if peaks:
        worst = max(peaks, key=peaks.get)
        out["peak_rss_bytes"] = {"value": peaks[worst], "run": worst,
                                 "target": TARGETS["peak_rss_bytes"],
                                 "met": peaks[worst] < TARGETS["peak_rss_bytes"]}
    return out


def print_verdicts(result, *, full_sizes=True, log=print):
    """The targets against the figures, one line each."""
    names = {"hide_seconds": "hide of the photo", "reveal_seconds": "reveal of the photo",
             "folder_hide_seconds": "hide of the folder"}
    for key, verdict in result["verdicts"].items():
        word = "met" if verdict["met"] else "NOT met"
        if not full_sizes:
            word += " (quick sizes: not the targets' sizes)"
        if key == "peak_rss_bytes":
            log(f"  target peak memory < {verdict['target'] / 1e9:.1f} GB: "
                f"{verdict['value'] / 1e9:.2f} GB ({verdict['run']}): {word}")
        else:
            log(f"  target {names[key]} < {verdict['target']:.0f} s: "
                f"{verdict['value']:.2f} s: {word}")
