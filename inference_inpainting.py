"""Inpaint aligned faces painted pure white: ``python inference_inpainting.py --input_path FOLDER|IMAGE``."""
from codeformer.cli import entry

if __name__ == '__main__':
    entry('inpaint')
