"""How much work one server takes at once, so that many clients (or one in a loop) cannot queue without end or fill
the disk: jobs waiting in the queue (per client and in all), network tasks of the photo and video tabs waiting for
the worker (per client and in all), the photos open in memory, and the bytes of the private folder (uploads and
work files). Beyond any of
them the request is answered 503 with ``Retry-After`` and one line saying which limit (``store.Busy``); what was
accepted before goes on. A client is a browser tab (the id the page sends), else the remote address."""
from __future__ import annotations

from dataclasses import dataclass

DEFAULT_QUEUED_JOBS = 16
DEFAULT_QUEUED_JOBS_PER_CLIENT = 4
DEFAULT_WAITING_TASKS = 32
DEFAULT_WAITING_TASKS_PER_CLIENT = 4
DEFAULT_STORED_MB = 4000
DEFAULT_PHOTOS = 32
DEFAULT_PHOTOS_PER_TAB = 2


@dataclass(frozen=True)
class Limits:
    """The server's limits (``codeformer serve --max_queued_jobs ...``); a value of None means no limit."""
    queued_jobs: int | None = DEFAULT_QUEUED_JOBS  # batches and videos waiting to start, all clients together
    queued_jobs_per_client: int | None = DEFAULT_QUEUED_JOBS_PER_CLIENT
    waiting_tasks: int | None = DEFAULT_WAITING_TASKS  # detect, restore, preview requests waiting for the worker
    waiting_tasks_per_client: int | None = DEFAULT_WAITING_TASKS_PER_CLIENT
    stored_bytes: int | None = DEFAULT_STORED_MB * 1_000_000  # the private folder: uploads and work files
    photos: int | None = DEFAULT_PHOTOS  # photos open (decoded, in memory), all clients together
    photos_per_tab: int | None = DEFAULT_PHOTOS_PER_TAB  # a tab shows one: its older ones are forgotten

    @classmethod
    def none(cls) -> Limits:
        """No limit at all (a library user's own server)."""
        return cls(None, None, None, None, None, None, None)
