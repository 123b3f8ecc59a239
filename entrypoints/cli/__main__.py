"""``python -m entrypoints.cli``: the same as the ``okr`` console script."""

import sys

from entrypoints.cli import main

sys.exit(main())
