"""The batch tool: ``codeformer [restore|colorize|inpaint|download|crop] ...`` and the scripts that call it.

Modules: ``arguments`` (options), ``checks`` (what is checked before any work), ``images`` and ``videos`` (the
loops), ``jobs`` (what each front door does to a batch), ``log`` (one record list, report, summary and exit-code
table for the whole run), ``restore``/``crop``/``download``/``merge_reports`` (the commands), ``shards`` (``--shard``)
and ``ray_runner`` (``--ray``). The library (``FaceEnhancer`` and what
it uses) imports nothing from here.

Errors: a ``codeformer.errors.CodeformerError`` that stops a command before it starts is one ``error:`` line and
exit code 2; one raised for an input is that input's ``error:`` line, and the run goes on (exit code 1 at the end).
Any other exception is a bug and shows its traceback. Ctrl-C exits with 130, SIGTERM with 143, both cleanly.
"""
from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable

from codeformer.cli.log import EXIT_USAGE, Terminated, interruption_code, say
from codeformer.errors import CodeformerError

COMMANDS = ('restore', 'colorize', 'inpaint', 'download', 'crop', 'serve', 'export-onnx', 'merge-reports')


def main(argv: list[str] | None = None) -> int:
    return guarded(lambda: _main(argv))


def guarded(command: Callable[[], int]) -> int:
    """Run a command with the table of errors and signals every command shares: a ``CodeformerError`` that
    escapes is one line and exit code 2; Ctrl-C is 130 and SIGTERM 143, each with one line."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return command()
    except KeyboardInterrupt as exc:
        say('stopped', 'interrupted; the results written so far are complete')
        return interruption_code(exc)
    except CodeformerError as exc:
        say('error', exc)
        return EXIT_USAGE
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminate(signum, frame) -> None:
    raise Terminated()


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in COMMANDS else 'restore'
    if command == 'download':
        from codeformer.cli.download import main as download_main
        return download_main(argv, prog='codeformer download')
    if command == 'crop':
        from codeformer.cli.crop import main as crop_main
        return crop_main(argv, prog='codeformer crop')
    if command == 'export-onnx':
        from codeformer.cli.export_onnx import main as export_main
        return export_main(argv, prog='codeformer export-onnx')
    if command == 'merge-reports':
        from codeformer.cli.merge_reports import main as merge_main
        return merge_main(argv, prog='codeformer merge-reports')
    if command == 'serve':  # the web page (codeformer/serve/), a front end like this one
        from codeformer.serve import main as serve_main
        return serve_main(argv, prog='codeformer serve')
    from codeformer.cli import arguments
    from codeformer.cli.restore import run_faces
    parser = {'restore': arguments.restore_parser, 'colorize': arguments.colorize_parser,
              'inpaint': arguments.inpaint_parser}[command](prog=f'codeformer {command}')
    return run_faces(command, parser.parse_args(argv), parser)


def entry(command: str) -> None:
    """For the top-level ``inference_*.py`` scripts and those in ``scripts/``."""
    sys.exit(main([command, *sys.argv[1:]]))
