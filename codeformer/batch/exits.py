"""How a command ends, for every front end: the exit-code table, Ctrl-C and SIGTERM, and one-line messages on
stderr (``error: ...``, ``warning: ...``) that never tear a progress bar."""
from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from tqdm import tqdm

from codeformer.errors import CodeformerError

if TYPE_CHECKING:
    from codeformer.batch.report import RunOutcome

EXIT_OK = 0  # everything asked for was done
EXIT_SOME_FAILED = 1  # the run went through, some inputs failed (each named in an error line)
EXIT_USAGE = 2  # nothing was done: bad arguments, unusable input or output path, missing weights
EXIT_INTERRUPTED = 130  # Ctrl-C (what shells report for SIGINT)
EXIT_TERMINATED = 143  # SIGTERM


def one_line(text: object) -> str:
    """``text`` with every character that is not printable escaped (``\\n``, ``\\x1b``, ...): a file name can hold
    them, and one problem must stay one line on a terminal and in a log."""
    return ''.join(ch if ch.isprintable() else ch.encode('unicode_escape').decode('ascii') for ch in str(text))


def say(kind: str, message: object) -> None:
    """``<kind>: <message>`` as one line on stderr, without tearing a progress bar."""
    tqdm.write(f'{kind}: {one_line(message)}', file=sys.stderr)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that a run stops as cleanly as on Ctrl-C (no temporary files left)."""


def interruption_code(exc: BaseException) -> int:
    return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED


def guarded(command: Callable[[], int], describe: Callable[[CodeformerError], str] = str) -> int:
    """Run a command with the table of errors and signals every command shares: a ``CodeformerError`` that
    escapes is one line (``describe`` words it for the front end) and exit code 2; Ctrl-C is 130 and SIGTERM 143,
    each with one line."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return command()
    except KeyboardInterrupt as exc:
        say('stopped', 'interrupted; the results written so far are complete')
        return interruption_code(exc)
    except CodeformerError as exc:
        say('error', describe(exc))
        return EXIT_USAGE
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def end_run(outcome: RunOutcome, quiet: bool = False) -> int:
    """Say how a run ended (stopped, and its summary unless ``quiet``); its exit code."""
    if outcome.interrupted is not None:
        say('stopped', 'interrupted; the results written so far are complete')
    if not quiet:
        tqdm.write(one_line(outcome.log.summary()), file=sys.stderr)
    if outcome.interrupted is not None:
        return interruption_code(outcome.interrupted)
    return EXIT_SOME_FAILED if outcome.failed else EXIT_OK


def _terminate(signum, frame) -> None:
    raise Terminated()
