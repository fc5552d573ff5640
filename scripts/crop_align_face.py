"""Crop and align the faces of photos to 512x512, with a JSON sidecar holding each crop's affine matrix.

    python scripts/crop_align_face.py -i photos/ -o inputs/cropped_faces [--only_largest] [--min_size 64]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codeformer.cli import guarded  # noqa: E402
from codeformer.cli.crop import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(guarded(main))
