"""The batch tool's command line: ``codeformer [restore|colorize|inpaint|download|crop|export-onnx|merge-reports]``
and the scripts that call it. It only parses options and hands them to the batch core (``codeformer.batch``) or the
library; ``codeformer serve`` is another front end (``codeformer.serve``), reached through ``codeformer.commands``.

Modules: ``arguments`` (every option, and library errors put in the options' words), ``restore`` (restore, colorize,
inpaint), ``crop``, ``download``, ``export_onnx``, ``merge_reports``.

Errors: a ``codeformer.errors.CodeformerError`` that stops a command before it starts is one ``error:`` line and
exit code 2; one raised for an input is that input's ``error:`` line, and the run goes on (exit code 1 at the end).
Any other exception is a bug and shows its traceback. Ctrl-C exits with 130, SIGTERM with 143, both cleanly.
"""
from __future__ import annotations

import sys
from collections.abc import Callable

from codeformer.batch import exits

COMMANDS = ('restore', 'colorize', 'inpaint', 'download', 'crop', 'export-onnx', 'merge-reports')
_MODULES = {'download': 'download', 'crop': 'crop', 'export-onnx': 'export_onnx', 'merge-reports': 'merge_reports'}


def main(argv: list[str] | None = None) -> int:
    """``codeformer COMMAND [options]``; the command defaults to ``restore``."""
    return guarded(lambda: _main(argv))


def guarded(command: Callable[[], int]) -> int:
    """``codeformer.batch.exits.guarded`` with library errors worded as this command line's options."""
    from codeformer.cli.arguments import as_flags
    from codeformer.notices import show_notices
    show_notices()
    return exits.guarded(command, as_flags)


def _main(argv: list[str] | None) -> int:
    import importlib

    from codeformer.registry import load_plugins
    load_plugins()  # before the options are made: their help and values come from the registries
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in COMMANDS else 'restore'
    if command in _MODULES:
        module = importlib.import_module(f'codeformer.cli.{_MODULES[command]}')
        return module.main(argv, prog=f'codeformer {command}')
    from codeformer.cli.restore import main as restore_main
    return restore_main(command, argv)


def entry(command: str) -> None:
    """For the top-level ``inference_*.py`` scripts: ``python inference_codeformer.py [options]``."""
    sys.exit(main([command, *sys.argv[1:]]))
