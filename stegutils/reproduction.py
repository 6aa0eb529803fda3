"""The old name of :mod:`stegutils.book.reproduction`: the book's machinery has its own place.

``from stegutils import reproduction`` and ``import stegutils.reproduction`` give that module
itself.
"""

import sys

from stegutils.book import reproduction as _module

sys.modules[__name__] = _module
