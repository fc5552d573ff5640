"""Download released weight files into weights/<group>/ (or $CODEFORMER_WEIGHTS_DIR/<group>/), verified.

    python scripts/download_pretrained_models.py CodeFormer facelib      # what restoration needs
    python scripts/download_pretrained_models.py all --force             # everything, again

Sets: CodeFormer (the three inference models), CodeFormer_train (vqgan, stage 2, latent codes), facelib, dlib,
realesrgan, all. Exit code 0 when every file is in place, 2 (with one line saying why) when one is not.
The work is done by codeformer.weight_zoo, the same code the inference commands use (codeformer.cli.download).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codeformer.cli import guarded  # noqa: E402
from codeformer.cli.download import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(guarded(main))
