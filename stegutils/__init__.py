"""stegutils: hide a whole image inside another with three small neural networks.

The library behind *Deep Steganography, Hands-On*, a book that teaches, reproduces and
improves on Baluja's "Hiding Images in Plain Sight: Deep Steganography" (NIPS 2017).

Conventions, said once for the whole package: inside the library an image is a
``float32`` array or tensor with values in ``[0, 1]`` and shape
``(batch, height, width, 3)`` (or ``(height, width, 3)`` for a single image). ``uint8``
appears only at the edges: files, widgets and the command line. A container (the cover
with the secret hidden in it) is rounded to 8 bits whenever it leaves the library,
because a real container is a PNG file.

Modules, lowest first (a module imports only modules above it in this list):

- :mod:`stegutils.data`: reading, checking and pairing photos; ``tf.data`` pipelines
- :mod:`stegutils.models`: the prep, hiding and reveal networks and their variants
- :mod:`stegutils.train`: the loss, the training loop, checkpoints and resuming
- :mod:`stegutils.backprop`: hand-written (and "dilated") backward passes for ``seed``
- :mod:`stegutils.metrics`: mean pixel error, PSNR and SSIM
- :mod:`stegutils.attacks`: attacks on containers, leaks, steganalysis, mitigations
- :mod:`stegutils.pretrained`: the shipped models and any run folder that ``train`` wrote
- :mod:`stegutils.detection`: the shipped steganalysis detector (``stegutils detect``)
- :mod:`stegutils.plot`: every figure the book shows
- :mod:`stegutils.widgets`: the playground (ipywidgets)
- :mod:`stegutils.cli`: ``stegutils hide``, ``reveal``, ``detect``, ``train`` and ``evaluate``
- :mod:`stegutils.timings`: how long each chapter takes to run (a results file's reading)
- :mod:`stegutils.reproduction`: the reproduction table (cited works and shipped models)

Submodules are imported on first use (``stegutils.models`` works after
``import stegutils``), so that ``import stegutils`` itself stays quick and does not
import TensorFlow.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "data",
    "models",
    "train",
    "backprop",
    "metrics",
    "attacks",
    "pretrained",
    "plot",
    "widgets",
    "cli",
    "exercises",
    "timings",
    "reproduction",
    "results",
    "verdicts",
    "tiling",
    "quiet",
    "detection",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name):
    # Lazy submodules (PEP 562): TensorFlow takes seconds to import, and the command
    # line's --help should not wait for it.
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
