"""The ``codeformer`` command (and ``python -m codeformer``): ``codeformer serve ...`` starts the web page
(``codeformer.serve``); every other command is the batch tool's (``codeformer.cli``). The two front ends never import
each other: this is where they meet."""
from __future__ import annotations

import importlib
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ['serve']:
        return importlib.import_module('codeformer.serve').main(argv[1:], prog='codeformer serve')
    return importlib.import_module('codeformer.cli').main(argv)
