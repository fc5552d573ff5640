"""The package's metadata: ranges for the library (nothing pinned on programs that embed it), which the exact
versions tested together (requirements.txt, requirements-dev.txt) satisfy."""
import tomllib
from packaging.requirements import Requirement

from tests.support.cli import ROOT


def test_the_library_declares_ranges_that_the_tested_pins_satisfy():
    project = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']
    declared = [Requirement(r) for r in project['dependencies']]
    declared += [Requirement(r) for extra in project['optional-dependencies'].values() for r in extra]
    pins = {}  # the tested environment: requirements.txt, and for the test-only extras requirements-dev.txt
    lines = [line for name in ('requirements.txt', 'requirements-dev.txt')
             for line in (ROOT / name).read_text().splitlines()]
    for line in lines:
        if line.strip() and not line.startswith('#'):
            req = Requirement(line)
            pins[req.name.lower().replace('_', '-')] = next(iter(req.specifier)).version
    assert {r.name for r in declared} >= {'torch', 'numpy', 'opencv-python', 'av'}
    for req in declared:
        assert not any(spec.operator == '==' for spec in req.specifier), req
        pinned = pins.get(req.name.lower().replace('_', '-'))
        assert pinned is not None and req.specifier.contains(pinned), (req, pinned)
    assert project['scripts']['codeformer'] == 'codeformer.commands:main'
