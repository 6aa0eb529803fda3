"""``python -m stegutils``: the same as the ``stegutils`` command."""

import sys

from stegutils.cli import main

sys.exit(main())
