"""Turn a folder of raw photos into a training set of aligned 512x512 faces (no sidecars; small faces skipped).

    python scripts/prepare_data.py --input_dir RAW --output_dir datasets/ffhq_like [--min_size 128]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codeformer.cli import guarded  # noqa: E402
from codeformer.cli.crop import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(guarded(lambda: main(prog='prepare_data.py', min_size=128, sidecars=False)))
