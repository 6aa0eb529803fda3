"""Loading the project's scripts (benchmarks, book tools) as modules, for their tests.

The scripts are not a package: each is loaded from its file, by path relative to the
repository root, under a name of its own so that two tests' copies never collide.
"""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_script(relative_path, name, *, monkeypatch=None):
    """The script at ``ROOT / relative_path``, executed as a module called ``name``.

    With ``monkeypatch``, the module is registered in ``sys.modules`` for the test's
    duration (a dataclass defined in the script looks its module up there).
    """
    path = ROOT / relative_path
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None:
        raise FileNotFoundError(f"no script at {path}")
    module = importlib.util.module_from_spec(spec)
    if monkeypatch is not None:
        monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module
