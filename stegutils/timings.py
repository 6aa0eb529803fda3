"""The old name of :mod:`stegutils.book.timings`: the book's machinery has its own place.

``from stegutils import timings`` and ``import stegutils.timings`` give that module
itself.
"""

import sys

from stegutils.book import timings as _module

sys.modules[__name__] = _module
