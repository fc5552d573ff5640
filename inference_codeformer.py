"""Restore faces: ``python inference_codeformer.py -w 0.5 --input_path FOLDER|IMAGE [--has_aligned]``."""
from codeformer.cli import entry

if __name__ == '__main__':
    entry('restore')
