"""The page's scripts are classic scripts that share one global scope: a name defined at the top of two of them would
silently replace the first (a function) or stop the page (a ``const``), so each is defined once, and every script
is loaded by the page."""
import re
from pathlib import Path

import codeformer.serve

STATIC = Path(codeformer.serve.__file__).parent / 'static'
TOP_LEVEL = re.compile(r'^(?:async\s+)?(?:function\s*\*?|const|let|var|class)\s+([A-Za-z_$][\w$]*)', re.M)


def test_each_top_level_name_is_defined_in_one_script_only():
    seen: dict[str, str] = {}
    twice = []
    for script in sorted(STATIC.glob('*.js')):
        for name in TOP_LEVEL.findall(script.read_text()):
            if name in seen:
                twice.append(f'{name}: {seen[name]} and {script.name}')
            seen.setdefault(name, script.name)
    assert len(seen) > 20, seen  # the pattern finds the scripts' names
    assert not twice, twice


def test_the_page_loads_every_script_with_common_first():
    html = (STATIC / 'index.html').read_text()
    loaded = re.findall(r'<script src="/static/([\w-]+\.js)" defer></script>', html)
    assert sorted(loaded) == sorted(p.name for p in STATIC.glob('*.js'))
    assert loaded[0] == 'common.js'
