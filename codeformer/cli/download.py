"""The ``download`` command (``scripts/download_pretrained_models.py``): every file of the named sets in place,
verified; exit code 0 when all are, 2 with one line naming the file, its URL and the folder when one is not."""
from __future__ import annotations

from codeformer import weight_zoo
from codeformer.cli.arguments import download_parser


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    args = download_parser(prog, list(weight_zoo.SETS)).parse_args(argv)
    for key in weight_zoo.set_keys(args.sets):  # a WeightsUnavailable stops here: exit code 2 (codeformer.cli)
        print(weight_zoo.provide(key, args.force, not args.quiet), flush=True)
    return 0
