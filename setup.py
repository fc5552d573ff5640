"""Install with ``pip install --no-build-isolation -e .`` after torch (see the Makefile)."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent


def requirements() -> list[str]:
    lines = (HERE / 'requirements.txt').read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith('#')]


setup(
    name='codeformer',
    version='0.1.0',
    description='Batch face restoration with the CodeFormer network (NeurIPS 2022)',
    long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['codeformer', 'codeformer.*']),
    python_requires='>=3.10',
    install_requires=requirements(),
    entry_points={'console_scripts': ['codeformer = codeformer.cli:main']},
    license='S-Lab License 1.0 (model weights; see README)',
)
