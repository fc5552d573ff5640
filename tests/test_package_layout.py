"""The package's shape, read from its source: one batch core under two front ends that never import each other, no
import cycle, a library that parses no command line and prints nothing, and short functions."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / 'codeformer'
FRONT_ENDS = ('codeformer.cli', 'codeformer.serve')
MAX_FUNCTION_LINES = 80


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob('*.py'))}
TREES = {name: ast.parse(path.read_text(), str(path)) for name, path in MODULES.items()}


def _imports(name: str) -> set[str]:
    """The package's modules that ``name`` imports, at its top or inside a function."""
    found = set()
    package = name if MODULES[name].name == '__init__.py' else name.rpartition('.')[0]
    for node in ast.walk(TREES[name]):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:  # relative: from the package, one level up per dot after the first
                parts = package.split('.')
                base = '.'.join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            targets = [f'{base}.{alias.name}' if f'{base}.{alias.name}' in MODULES else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition('.')[0]
            if target and target != name:
                found.add(target)
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + '.')


def test_the_import_graph_has_no_cycle():
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for target in sorted(GRAPH[name]):
            if state.get(target) == 1:
                cycle = path[path.index(target):] + [target]
                raise AssertionError('import cycle: ' + ' -> '.join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[name] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)


def test_the_walk_sees_the_imports_it_must():
    """The checks below mean something only if the walk finds real edges, relative and inside functions too."""
    assert 'codeformer.batch.run' in GRAPH['codeformer.cli.restore']
    assert 'codeformer.batch.ray_runner' in GRAPH['codeformer.batch.run']  # imported inside a function
    assert 'codeformer.batch.images' in GRAPH['codeformer.serve.batch']


def test_neither_front_end_imports_the_other():
    for front in FRONT_ENDS:
        others = [f for f in FRONT_ENDS if f != front]
        for name in MODULES:
            if _inside(name, front):
                bad = [t for t in GRAPH[name] if any(_inside(t, o) for o in others)]
                assert not bad, f'{name} imports {bad}'


def test_nothing_but_the_front_ends_imports_them():
    for name in MODULES:
        if not any(_inside(name, f) for f in FRONT_ENDS) and name != 'codeformer.commands':
            bad = [t for t in GRAPH[name] if any(_inside(t, f) for f in FRONT_ENDS)]
            assert not bad, f'{name} imports the front end {bad}'


def _prints_to_stdout(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Name) and func.id == 'print':
        file = next((k.value for k in call.keywords if k.arg == 'file'), None)
        return file is None or ast.unparse(file) == 'sys.stdout'
    return ast.unparse(func) in ('sys.stdout.write', 'sys.stdout.writelines')


def test_outside_the_front_ends_no_argparse_and_nothing_printed_to_stdout():
    for name, tree in TREES.items():
        if any(_inside(name, f) for f in FRONT_ENDS):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert all(a.name != 'argparse' for a in node.names), f'{name} imports argparse'
            if isinstance(node, ast.ImportFrom):
                assert node.module != 'argparse', f'{name} imports argparse'
            if isinstance(node, ast.Call):
                assert not _prints_to_stdout(node), f'{name}:{node.lineno} prints to stdout'


def test_the_library_itself_never_prints():
    """Only the front ends, the batch core's messages (asked for by its quiet/echo flags) and the training
    command write lines of their own; the library says what it must through ``codeformer.notices``."""
    speaking = (*FRONT_ENDS, 'codeformer.batch', 'codeformer.train')
    for name, tree in TREES.items():
        if any(_inside(name, s) for s in speaking):
            continue
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
        assert not [c.lineno for c in calls if c.func.id == 'print'], f'{name} prints'


def test_no_function_is_longer_than_80_lines():
    long = []
    for name, tree in TREES.items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f'{name}.{node.name}: {lines} lines')
    assert not long, long


def test_the_module_map_in_the_package_docstring_names_every_module():
    """The map is kept in one place (the README links to it): a module added is a line added there."""
    import codeformer
    package = Path(codeformer.__file__).parent
    wanted = [p.stem for p in package.glob('*.py') if p.stem not in ('__init__', '__main__')]
    for folder in ('batch', 'video', 'utils'):
        wanted += [f'{folder}/{p.stem}' for p in (package / folder).glob('*.py') if p.stem != '__init__']
    missing = [name for name in wanted if f'``{name}``' not in codeformer.__doc__]
    assert not missing, missing
