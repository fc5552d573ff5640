"""Train any CodeFormer stage with basicsr's own training loop.

    python codeformer/train.py -opt options/CodeFormer_stage2.yml [--auto_resume]
    python -m codeformer.train -opt options/CodeFormer_stage2.yml
    torchrun --nproc_per_node=8 codeformer/train.py -opt options/... --launcher pytorch
    torchrun --standalone --nproc_per_node=2 codeformer/train.py -opt options/... --launcher pytorch  # CPU: gloo

We only register our networks, models, datasets and losses in basicsr's registries and hand over to
``basicsr.train.train_pipeline``: option files, logging, checkpoints and resuming behave as in every other
basicsr project. Runs write ``experiments/<name>/`` under the current directory (relative paths in option
files are relative to it too), so run from the repository root or a work folder of your own.
"""
from __future__ import annotations

import os
import sys

if __package__ in (None, ''):  # run as a file: codeformer/ itself must not shadow top-level modules
    _HERE = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    sys.path.insert(0, os.path.dirname(_HERE))

import codeformer  # noqa: E402,F401  (before basicsr: installs the torchvision shim)
from codeformer import compat  # noqa: E402


def register() -> None:
    """Import our modules so their decorators fill basicsr's ARCH/MODEL/DATASET/LOSS registries."""
    import codeformer.archs  # noqa: F401
    import codeformer.data  # noqa: F401
    import codeformer.losses  # noqa: F401
    import codeformer.models  # noqa: F401


def _launcher(argv: list[str]) -> str:
    for i, arg in enumerate(argv):
        if arg == '--launcher' and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith('--launcher='):
            return arg.split('=', 1)[1]
    return 'none'


def main(argv: list[str] | None = None) -> int:
    """Run basicsr's training pipeline on our registries; ``argv`` defaults to the command line."""
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    if _launcher(sys.argv[1:]) == 'pytorch' and 'RANK' not in os.environ:  # else a traceback from torch.distributed
        print('error: --launcher pytorch is for the processes torchrun starts (it sets RANK and WORLD_SIZE): '
              'torchrun --standalone --nproc_per_node=N codeformer/train.py -opt ... --launcher pytorch',
              file=sys.stderr)
        return 2
    from codeformer.notices import show_notices
    show_notices()
    register()
    compat.resume_without_cuda()
    compat.distributed_without_cuda()
    from basicsr.train import train_pipeline

    from codeformer.losses import MissingWeightsError
    from codeformer.models import OptionError
    try:
        train_pipeline(os.getcwd())
    except (MissingWeightsError, OptionError) as exc:  # the message is the whole story: no traceback
        print(f'error: {exc}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
