"""``python -m codeformer ...``: the same as the ``codeformer`` command."""
import sys

from codeformer.commands import main

sys.exit(main())
