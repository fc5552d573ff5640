"""What the library has to tell its user (the weights' licence before a download, a slow path taken) goes to the
``codeformer`` logger, which is silent until a program asks: the command line and the web page call
``show_notices()``, which says each as one ``note:`` or ``warning:`` line on stderr."""
from __future__ import annotations

import logging
import sys

logger = logging.getLogger('codeformer')
logger.addHandler(logging.NullHandler())


class _Lines(logging.Handler):
    """``note: ...`` (info) or ``warning: ...`` lines on the stderr of the moment, without tearing a progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        kind = 'note' if record.levelno < logging.WARNING else 'warning' if record.levelno < logging.ERROR else 'error'
        from tqdm import tqdm
        try:
            tqdm.write(f'{kind}: {record.getMessage()}', file=sys.stderr)
        except Exception:  # noqa: BLE001  (logging's own rule: a message never stops the program)
            self.handleError(record)


def show_notices(level: int = logging.INFO) -> None:
    """Say the library's notices on stderr from now on (once, however often it is called)."""
    if not any(isinstance(h, _Lines) for h in logger.handlers):
        logger.addHandler(_Lines())
    logger.setLevel(level)
