"""``codeformer serve``: a local web page on top of ``FaceEnhancer``, for one photo, a batch, or a video.

Modules: ``command`` (the options; loads the networks once, runs uvicorn), ``server`` (the state of one running server),
``app`` (puts the Starlette app together: the page, info, each tab's routes), ``photo_routes`` / ``batch_routes`` /
``video_routes`` (each tab's JSON API and downloads), ``job_routes`` (the job queue every tab shares: list, status,
stop), ``http`` (what the routes share: uploads, JSON bodies, PNG responses, JSON errors), ``worker`` (the one thread
that runs networks: page tasks first, then jobs one at a time), ``limits`` (how much work it takes at once: 503
beyond), ``session`` (the shared networks, settings, the cache of
restored faces), ``photos`` / ``batch`` / ``videos`` (each page's work), ``store`` (the private folder and checked
names), ``zipstream`` (zips streamed and read); ``static/`` holds the page (plain HTML, CSS and JavaScript,
nothing fetched from elsewhere). The library imports nothing from here, nor does the batch tool's command line
(``codeformer.cli``); both sit on the batch core (``codeformer.batch``).
"""
from __future__ import annotations


def main(argv: list[str] | None = None, prog: str = 'codeformer serve') -> int:
    """``codeformer serve [options]``: errors before the server starts are one line and exit code 2."""
    from codeformer.batch.exits import guarded
    from codeformer.notices import show_notices
    from codeformer.serve.command import main as serve_main
    show_notices()
    return guarded(lambda: serve_main(argv, prog))
