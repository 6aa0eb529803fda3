"""The old name of :mod:`stegutils.book.results`: the book's machinery has its own place.

``from stegutils import results`` and ``import stegutils.results`` give that module
itself.
"""

import sys

from stegutils.book import results as _module

sys.modules[__name__] = _module
