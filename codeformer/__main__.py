"""``python -m codeformer ...``: the same as the ``codeformer`` command."""
import sys

from codeformer.cli import main

sys.exit(main())
