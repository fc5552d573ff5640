"""``scripts/page_screenshots.py``: the page's six screenshots for the README (phone, tablet, desktop; light and
dark), made against a real server with stand-in weights, written where it is told."""
import pytest
from PIL import Image

from tests.support.browser import INSTALL, chromium_paths
from tests.support.cli import run_script

pytestmark = pytest.mark.slow  # a server, a browser and six restorations

NAMES = {f'page-{w}x{h}-{scheme}.png': (w, h) for w, h in ((390, 844), (768, 1024), (1400, 900))
         for scheme in ('light', 'dark')}


def test_the_script_saves_six_small_screenshots(tmp_path):
    if not all(chromium_paths()):
        pytest.skip(f'the screenshots need Chromium and its driver: {INSTALL}')
    out = tmp_path / 'docs'
    proc = run_script('scripts/page_screenshots.py', '--out', str(out), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == sorted(NAMES), list(out.iterdir())
    for name, size in NAMES.items():
        path = out / name
        with Image.open(path) as image:
            assert image.format == 'PNG' and image.size == size, (name, image.format, image.size)
            colours = image.convert('RGB').resize((64, 64)).getcolors(64 * 64)
        assert path.stat().st_size < 300_000, (name, path.stat().st_size)
        assert colours is None or len(colours) > 40, name  # a page with a photo on it, not a blank window
    assert str(out / 'page-390x844-light.png') in proc.stdout, proc.stdout


def test_the_script_says_where_it_cannot_write(tmp_path):
    """A folder it cannot make is one line naming the folder, before any server or browser starts."""
    blocker = tmp_path / 'a file'
    blocker.write_text('not a folder')
    proc = run_script('scripts/page_screenshots.py', '--out', str(blocker / 'docs'))
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(blocker / 'docs') in lines[0], proc.stderr
