"""The workarounds for the packages we build on, each in a fresh interpreter as a user starts one."""
import subprocess
import sys

import pytest

from tests.support.cli import ROOT


def fresh(code: str) -> str:
    proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.mark.slow  # several seconds: CI runs it, make test-fast leaves it
def test_basicsr_facexlib_realesrgan_import_after_codeformer_and_registries_fill():
    out = fresh('import codeformer, basicsr.train, facexlib, realesrgan, gfpgan\n'
                'from basicsr.utils.registry import ARCH_REGISTRY\n'
                'import codeformer.archs\n'
                'print(all(n in ARCH_REGISTRY for n in ("CodeFormer", "VQAutoEncoder", "VectorQuantizer", '
                '"VQGANDiscriminator")))')
    assert out == 'True'


@pytest.mark.slow  # several seconds: CI runs it, make test-fast leaves it
def test_networks_register_whichever_is_imported_first():
    out = fresh('import codeformer.archs\nfrom basicsr.archs import build_network\n'
                'print(type(build_network({"type": "VQGANDiscriminator", "n_layers": 2})).__name__)')
    assert out == 'VQGANDiscriminator'


def test_inference_imports_neither_basicsr_nor_torchvision():
    out = fresh('import sys, codeformer.enhancer, codeformer.cli, codeformer.weight_zoo\n'
                'print(sorted(m for m in ("basicsr", "torchvision", "facexlib") if m in sys.modules))')
    assert out == '[]'
