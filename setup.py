"""Install with ``pip install --no-build-isolation -e .`` after torch (see the Makefile). The metadata, with the
library's dependency ranges, is in pyproject.toml; requirements.txt pins the versions tested together."""
from setuptools import setup

setup()
