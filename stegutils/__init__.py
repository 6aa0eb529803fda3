"""stegutils: hide a whole image inside another with three small neural networks.

The library behind *Deep Steganography, Hands-On*, a book that teaches, reproduces and
improves on Baluja's "Hiding Images in Plain Sight: Deep Steganography" (NIPS 2017).

Conventions, said once for the whole package: inside the library an image is a
``float32`` array or tensor with values in ``[0, 1]`` and shape
``(batch, height, width, 3)`` (or ``(height, width, 3)`` for a single image). ``uint8``
appears only at the edges: files, widgets and the command line. A container (the cover
with the secret hidden in it) is rounded to 8 bits whenever it leaves the library,
because a real container is a PNG file.

Modules, in layers, lowest first. A module imports only modules of its own layer or of
a lower one, at its top or inside a function (``tests/test_layers.py`` reads this list
and checks every import of the package against it; a subpackage's modules share its
layer):

1. :mod:`stegutils.files` (files written whole or not at all, hashes),
   :mod:`stegutils.quiet`, :mod:`stegutils.verdicts`, :mod:`stegutils.metrics` (mean
   pixel error, PSNR, SSIM), :mod:`stegutils.channel` (the simulated channel),
   :mod:`stegutils.book` and :mod:`stegutils.book.results` (the book's fast-mode switch
   and its results files, which need nothing else)
2. :mod:`stegutils.data`: reading, checking and pairing photos; ``tf.data`` pipelines
3. :mod:`stegutils.models` with :mod:`stegutils.invertible` (a variant it registers),
   :mod:`stegutils.tiling`, :mod:`stegutils.refine`: the networks, hiding any size in
   tiles, and refining a container against the fixed reveal network
4. :mod:`stegutils.runs`: the run folder (``Config``, its files, the validation split);
   :mod:`stegutils.cards`: a model card's intended use, limitations and training data
5. :mod:`stegutils.pretrained`: the shipped models and any run folder's weights
6. :mod:`stegutils.train`: the loss, the training step and loop, checkpoints
7. :mod:`stegutils.backprop`, :mod:`stegutils.attacks`: hand-written backward passes;
   attacks on containers, leaks, steganalysis, fine-tuning
8. :mod:`stegutils.detection`, :mod:`stegutils.plot`, :mod:`stegutils.exercises`: the
   shipped detector, every figure, the exercises' checkers
9. :mod:`stegutils.widgets`: the playground (ipywidgets)
10. :mod:`stegutils.cli`, :mod:`stegutils.__main__`: ``stegutils hide``, ``reveal``,
    ``detect``, ``train``, ``evaluate``, ``export``, ``models``
11. the book's machinery, above the library: :mod:`stegutils.book.timings`,
    :mod:`stegutils.book.reproduction`, and their old names :mod:`stegutils.timings`,
    :mod:`stegutils.reproduction`, :mod:`stegutils.results`

Submodules are imported on first use (``stegutils.models`` works after
``import stegutils``), so that ``import stegutils`` itself stays quick and does not
import TensorFlow.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "files",
    "runs",
    "cards",
    "book",
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
    "refine",
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
