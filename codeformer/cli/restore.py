"""The ``restore``, ``colorize`` and ``inpaint`` commands: their options parsed into ``RunOptions`` and the run
done by the batch core (``codeformer.batch.run``)."""
from __future__ import annotations

from codeformer.batch.exits import end_run, say
from codeformer.batch.options import RunOptions
from codeformer.batch.run import run
from codeformer.cli import arguments

PARSERS = {'restore': arguments.restore_parser, 'colorize': arguments.colorize_parser,
           'inpaint': arguments.inpaint_parser}


def main(command: str, argv: list[str] | None = None, prog: str | None = None) -> int:
    args = PARSERS[command](prog=prog or f'codeformer {command}').parse_args(argv)
    options = RunOptions.of(args, command=command, precision=arguments.precision_of(args))
    return end_run(run(options, say=say), options.quiet)
