"""``codeformer serve``: a local web page on top of ``FaceEnhancer``, for one photo, a batch, or a video.

Modules: ``command`` (the options; loads the networks once, runs uvicorn), ``app`` (the Starlette routes: uploads,
the JSON API, the page), ``worker`` (the one thread that runs networks: page tasks first, then jobs one at a time),
``models`` (the shared networks, settings, the cache of restored faces), ``photos`` / ``batch`` / ``videos`` (each
page's work), ``store`` (the private folder and checked names), ``pngtext`` and ``zipstream`` (file formats);
``static/`` holds the page (plain HTML, CSS and JavaScript, nothing fetched from elsewhere). The library imports
nothing from here.
"""
from __future__ import annotations


def main(argv: list[str] | None = None, prog: str = 'codeformer serve') -> int:
    from codeformer.serve.command import main as serve_main
    return serve_main(argv, prog)
