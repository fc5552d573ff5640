"""Batch jobs: the uploaded files (zips unpacked) through the batch tool's own image loop
(``codeformer.batch.images.run_images`` with ``WholeImageJob``), so results, names, errors and the report are the
batch tool's; the page gets them as one zip, streamed, with ``report.json`` in it and beside it.

Each file's results are copied to the output folder as soon as it is done (not at the end), so a server stopped
part way (Stop, Ctrl-C, SIGTERM) keeps every finished one; an output folder that cannot take them fails the job
with one line."""
from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from codeformer.batch.images import run_images
from codeformer.batch.jobs import WholeImageJob
from codeformer.batch.report import Record, RunLog, write_report
from codeformer.hooks import WorkHooks
from codeformer.serve.results import Results
from codeformer.serve.session import Models, Settings
from codeformer.serve.worker import JobStopped, Worker, WorkerJob
from codeformer.serve.zipstream import zip_stream
from codeformer.utils.image_io import file_kind
from codeformer.utils.inputs import InputFile, unique_names


@dataclass
class Batch:
    """Files uploaded for a batch, before it starts."""
    id: str
    folder: Path
    files: list[Path] = field(default_factory=list)

    @property
    def inputs(self) -> Path:
        return self.folder / 'in'


class _KeepingLog(RunLog):
    """The run's log, which hands each file done to ``on_done`` (its results copied to the output folder at once)."""

    def __init__(self, out_root: Path, on_done):
        super().__init__(out_root, quiet=True)
        self._on_done = on_done

    def done(self, rec: Record) -> None:
        super().done(rec)
        self._on_done(rec)


class BatchJob(WorkerJob):
    def __init__(self, id: str, batch: Batch, settings: Settings, models: Models, batch_size: int,
                 max_pixels: int | None, results: Results | None = None):
        names = ', '.join(p.name for p in batch.files[:3]) + (' ...' if len(batch.files) > 3 else '')
        super().__init__(id, 'batch', f'{len(batch.files)} files: {names}', total=len(batch.files))
        self.batch, self.settings, self.models = batch, settings, models
        self.batch_size, self.max_pixels = batch_size, max_pixels
        self.out = batch.folder / 'out'
        self.log: RunLog | None = None
        self.report_path = batch.folder / 'report.json'
        self.results = results
        self._kept: set[str] = set()  # outputs already copied to the output folder

    def run(self, worker: Worker) -> None:
        files = self.batch.files
        kinds = [file_kind(p) for p in files]
        inputs = [InputFile(p, k or 'image', n) for p, k, n in zip(files, kinds, unique_names(files))]
        self.log = log = _KeepingLog(self.out, self._keep_record)
        images = []
        for inp in inputs:
            if inp.kind == 'video':
                log.fail(log.add(inp), f'{inp.path}: a video: restore it in the Video tab')
            else:
                images.append(inp)
        job = WholeImageJob(self.models.enhancer(self.settings), w=self.settings.w, hooks=self._hooks(worker))
        try:
            run_images(log, images, job, batch_size=self.batch_size, max_pixels=self.max_pixels, protected=files)
        except JobStopped:
            self._count()  # the files finished before Stop came: those in the zip, so in the count
            self.part = 0.0  # the group under way is dropped
            self.message = self._stopped_message()
            raise
        finally:
            self._count()
            write_report(self.report_path, self.public_records())
            shutil.rmtree(self.batch.inputs, ignore_errors=True)  # read by now: room for other uploads
        failed = sum(1 for r in log.records if r.status == 'failed')
        self.message = f'{self.total - failed} done, {failed} failed'

    def _hooks(self, worker: Worker) -> WorkHooks:
        """Stop, the page's progress and the tasks waiting (a photo from another tab), given to each group of files
        and checked after each network batch within it, not only between groups: faces, not only files, move the
        progress and the time left, and Stop or a photo waits one network batch, not a group of files."""
        before = [0]  # the faces of the files before the group under way

        def checkpoint() -> None:
            worker.checkpoint(self)
            self._count()  # the files before this group are in ``done``, and nothing of this group yet
            before[0] = self.faces

        def progress(items: int, faces: int, found: int) -> None:
            self.faces, self.part = before[0] + faces, items * faces / max(1, found)
            worker.checkpoint(self)  # Stop here drops the group under way: only whole files are kept

        def batch_done(items: int, faces: int) -> None:
            self.faces = before[0] + faces

        return WorkHooks(checkpoint, progress, batch_done)

    def _stopped_message(self) -> str:
        """What a stopped batch did, in one statement whose count is the zip's: the files restored (their results
        in it), then the failed ones if any."""
        records = self.log.records if self.log else []
        restored = sum(1 for r in records if r.status == 'done')
        failed = sum(1 for r in records if r.status not in ('done', 'not started'))
        also = f', {failed} failed' if failed else ''
        kept = '; their results are in the zip' if restored else ''
        return f'stopped: {restored} of {self.total} files restored{also}{kept}'

    def _count(self) -> None:
        records = self.log.records if self.log else []
        done = sum(1 for r in records if r.status != 'not started')
        if done != self.done:  # the group under way is finished: its share is in ``done`` now
            self.part = 0.0  # first: the progress never counts the group twice
            self.done = done
        self.errors = [self._public(r.error) for r in records if r.error]

    def status(self, position: int | None = None) -> dict:
        if self.state == 'running':
            self._count()
        return super().status(position)

    def _public(self, text: str) -> str:
        """A path or message with the private folders left out: names as the user uploaded them."""
        for folder in (self.batch.inputs, self.out):
            text = text.replace(str(folder) + os.sep, '')
        return text

    def public_records(self) -> list[Record]:
        records = []
        for r in self.log.records if self.log else []:
            records.append(dataclasses.replace(r, input=self._public(r.input),
                                               outputs=[self._public(o) for o in r.outputs],
                                               error=self._public(r.error) if r.error else None,
                                               warnings=[self._public(w) for w in r.warnings]))
        return records

    def _keep_record(self, rec: Record) -> None:
        """Copy a finished file's results to the output folder (the zip's layout, no file there overwritten);
        an ``OutputError`` (the folder full or read-only) ends the job."""
        if self.results is None:
            return
        for out in rec.outputs:
            path = Path(out)
            if out not in self._kept and path.is_file():
                self.results.save_file(path, path.relative_to(self.out).as_posix())
                self._kept.add(out)

    def discard(self) -> None:
        shutil.rmtree(self.batch.folder, ignore_errors=True)

    def zip_entries(self) -> Iterator[tuple[str, Path]]:
        for r in self.log.records if self.log else []:
            for out in r.outputs:
                path = Path(out)
                if path.is_file():
                    yield path.relative_to(self.out).as_posix(), path
        yield 'report.json', self.report_path

    def zip(self) -> Iterator[bytes]:
        return zip_stream(self.zip_entries())
