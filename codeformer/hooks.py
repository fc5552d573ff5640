"""What a front end passes into a unit of work (a group of photos of a batch, a video's frames): a stop check before
each network step, and the progress as faces are restored and as each batch is done. The batch tool passes none;
the web page's worker passes its Stop and its progress bar; nothing of the work is wrapped or changed for them."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def _nothing(*_: object) -> None:
    return None


@dataclass(frozen=True)
class WorkHooks:
    """``checkpoint()``: before each network step (a batch, a video frame's detection); it may raise to stop the work
    there (the web page's Stop). ``on_progress(items, faces_done, faces_found)``: within a batch of ``items`` photos
    or frames, after each network call; it may raise too, so the work stops within one network call of a Stop even
    when a batch of many faces takes several. ``on_batch(items, faces)``: a batch done."""
    checkpoint: Callable[[], None] = _nothing
    on_progress: Callable[[int, int, int], None] = _nothing
    on_batch: Callable[[int, int], None] = _nothing


NO_HOOKS = WorkHooks()
