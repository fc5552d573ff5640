"""Colorize aligned faces: ``python inference_colorization.py --input_path FOLDER|IMAGE``."""
from codeformer.cli import entry

if __name__ == '__main__':
    entry('colorize')
