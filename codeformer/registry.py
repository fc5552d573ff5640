"""Named plug-ins, in BasicSR's manner: detectors, background upsamplers and network backends each keep a registry
that their modules (or anyone's) fill with ``register``; the command line's choices and help, the web page's lists
and the README's table are read from them, so adding one is one call.

Packages outside this one add theirs through the ``codeformer.plugins`` entry-point group, or a comma-separated list
of modules in ``$CODEFORMER_PLUGINS``: ``load_plugins`` (which the front ends call at start) imports each, and the
import registers."""
from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from codeformer.errors import InvalidOption

logger = logging.getLogger('codeformer')

PLUGINS_VARIABLE = 'CODEFORMER_PLUGINS'
ENTRY_POINT_GROUP = 'codeformer.plugins'


@dataclass(frozen=True)
class Entry:
    """One plug-in: ``factory(**arguments)`` makes it; ``weights``: the weight zoo's keys it may download (none: it
    needs no download); ``extra``: what its kind needs to know of it (a detector's landmark ``layout``, ...)."""
    name: str
    factory: Callable[..., Any]
    help: str
    weights: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def downloads(self) -> bool:
        return bool(self.weights)


class Registry(Mapping[str, Entry]):
    """name -> ``Entry`` for one kind of plug-in, in the order registered. ``argument``: the library argument that
    takes the names, which unknown ones are reported against."""

    def __init__(self, kind: str, argument: str) -> None:
        self.kind, self.argument = kind, argument
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, factory: Callable[..., Any], help: str, weights: tuple[str, ...] = (),
                 **extra: Any) -> Entry:
        """Add (or replace) the plug-in ``name``."""
        if not name or any(c.isspace() or c == ',' for c in name):
            raise InvalidOption(f'not a {self.kind} name (no spaces or commas)', 'name', name)
        entry = Entry(name, factory, help, tuple(weights), dict(extra))
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def __getitem__(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def get_entry(self, name: str, argument: str | None = None) -> Entry:
        """The entry, or the library's error naming the argument (``argument``, else the registry's) and the known
        names."""
        if name not in self._entries:
            raise self.unknown(name, argument)
        return self._entries[name]

    def unknown(self, name: object, argument: str | None = None) -> InvalidOption:
        return InvalidOption(f'unknown {self.kind}; known: {", ".join(self)}', argument or self.argument, name)

    def check(self, name: str, argument: str | None = None) -> None:
        """An ``InvalidOption`` for a name not registered, before anything loads."""
        self.get_entry(name, argument)

    def described(self, default: str | None = None) -> str:
        """The names for a help text: ``a (default), b (downloads), c``."""
        def said(name: str) -> str:
            notes = [note for note, applies in (('default', name == default), ('downloads', self[name].downloads))
                     if applies]
            return f'{name} ({", ".join(notes)})' if notes else name
        return ', '.join(said(name) for name in self)

    def build(self, name: str, argument: str | None = None, **arguments: Any) -> Any:
        return self.get_entry(name, argument).factory(**arguments)


_loaded: set[str] = set()


def load_plugins() -> list[str]:
    """Import every plug-in module named by the entry-point group and ``$CODEFORMER_PLUGINS`` (once each); returns
    the modules imported now. A module that fails to import is a warning, not a stop: the built-ins still work."""
    from importlib.metadata import entry_points

    names = [ep.value.split(':')[0] for ep in entry_points(group=ENTRY_POINT_GROUP)]
    names += [n.strip() for n in os.environ.get(PLUGINS_VARIABLE, '').split(',') if n.strip()]
    done = []
    for name in names:
        if name in _loaded:
            continue
        _loaded.add(name)
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - a broken plug-in must not stop the tool
            logger.warning(f'plug-in {name}: not loaded ({type(exc).__name__}: {exc})')
            continue
        done.append(name)
    return done
