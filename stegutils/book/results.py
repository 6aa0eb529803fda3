"""Finding the book's results files wherever the book runs.

The benchmarks (``benchmarks/*.py``) write what they measure to
``benchmarks/results/*.json``; the chapters read those files instead of typing numbers.
A chapter may run in a source checkout (``make book``, ``make lab``, Binder), from a
Colab launch button (a clone beside a non-editable ``pip install``) or with only the
installed package (``pip install`` of the wheel, any folder). So :func:`find` looks, in
order, in:

1. ``benchmarks/results/`` of the checkout that holds this package (an editable install
   or a clone on ``sys.path``);
2. ``benchmarks/results/`` under the parent of the working directory (a notebook run
   from ``book/``), then under the working directory;
3. the copy that the wheel carries (``stegutils._results``: ``pyproject.toml`` maps the
   folder ``benchmarks/results`` into the package), so an installed package alone still
   has every measured figure of the commit it was built from.

Introduced in chapter 3 (Designing the networks).
"""

from __future__ import annotations

import importlib.util
import json
import pathlib

__all__ = ["RESULTS_DIR", "candidates", "find", "load"]

#: The results folder, relative to the repository.
RESULTS_DIR = pathlib.Path("benchmarks") / "results"


def _packaged_dir():
    # stegutils._results is a folder without __init__.py (a namespace package): its
    # spec lists the folder.
    try:
        spec = importlib.util.find_spec("stegutils._results")
    except (ModuleNotFoundError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return pathlib.Path(list(spec.submodule_search_locations)[0])


def candidates(name: str) -> list[pathlib.Path]:
    """The places :func:`find` looks for the results file ``name``, in order."""
    places = [
        pathlib.Path(__file__).resolve().parents[2] / RESULTS_DIR,
        pathlib.Path.cwd().parent / RESULTS_DIR,
        pathlib.Path.cwd() / RESULTS_DIR,
    ]
    packaged = _packaged_dir()
    if packaged is not None:
        places.append(packaged)
    return [place / name for place in places]


def find(name: str) -> pathlib.Path | None:
    """The first existing results file called ``name`` (see the module docstring), or None.

    Parameters
    ----------
    name : str
        A file name such as ``"quality.json"``.
    """
    for path in candidates(name):
        try:
            if path.is_file():
                return path
        except OSError:
            continue
    return None


def load(name: str, *, results_dir=None) -> dict | None:
    """The results file ``name`` as a dict, or ``None`` if it is missing or malformed.

    Parameters
    ----------
    name : str
        A file name such as ``"failures.json"``.
    results_dir : path, optional
        Read ``results_dir / name`` instead of looking in the usual places.
    """
    path = pathlib.Path(results_dir) / name if results_dir is not None else find(name)
    if path is None:
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None
