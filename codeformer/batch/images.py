"""The image loop every command and front end shares: decode ahead, process in batches, write atomically, report a
bad file in one line and go on. Every image is measured from its header before it is decoded: one over
``max_pixels``, or whose result would be, is refused without being decoded."""
from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from codeformer.batch.checks import OutputGuard
from codeformer.batch.jobs import Job, Result
from codeformer.batch.report import Record, RunLog
from codeformer.errors import CodeformerError
from codeformer.outputs import ResultRefused, write_results
from codeformer.utils.image_io import DEFAULT_MAX_PIXELS, check_pixels, decode_image, image_size, read_file
from codeformer.utils.inputs import InputFile


def chunked(items: Sequence, size: int) -> Iterator[Sequence]:
    """``items`` in consecutive runs of ``size`` (the last one shorter): the batches of a run."""
    for start in range(0, len(items), max(1, size)):
        yield items[start:start + max(1, size)]


def already_done(out_root: Path, job: Job, inp: InputFile) -> bool:
    """Whether ``inp``'s results exist (``skip_existing``)."""
    return (out_root / job.marker(inp.name).format(name=inp.name)).exists()


def describe_failure(path: Path, exc: BaseException) -> str:
    """One line for an input that failed: a ``CodeformerError`` says everything; running out of memory is named;
    anything else is a bug, whose traceback is printed as well."""
    if isinstance(exc, CodeformerError):
        text = str(exc)
        return text if text.startswith(str(path)) else f'{path}: {text}'
    if isinstance(exc, MemoryError) or type(exc).__name__ == 'OutOfMemoryError':
        return f'{path}: not enough memory ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})'
    traceback.print_exception(exc, file=sys.stderr)
    return f'{path}: {type(exc).__name__}: {exc} (an unexpected error: the traceback is above)'


def run_images(log: RunLog, inputs: Sequence[InputFile], job: Job, batch_size: int = 4, skip_existing: bool = False,
               max_pixels: int | None = DEFAULT_MAX_PIXELS, protected: Sequence[Path] = (), unit: str = 'img') -> None:
    """Process ``inputs`` with ``job`` into ``log.out_root``, recording each in ``log``.

    ``protected``: files never to be written (the run's inputs); every output is also written at most once.
    """
    out_root = log.out_root
    guard = OutputGuard(protected)
    todo: list[tuple[InputFile, Record]] = []
    for inp in inputs:
        rec = log.add(inp)
        if skip_existing and already_done(out_root, job, inp):
            log.skip(rec)
        else:
            todo.append((inp, rec))
    faces, started = 0, time.perf_counter()
    chunks = list(chunked(todo, batch_size))
    bar = tqdm(total=len(todo), unit=unit, disable=log.quiet, file=sys.stderr, dynamic_ncols=True)
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix='decode') as pool:
            def submit(chunk):
                return [pool.submit(_decode, inp, job, max_pixels) for inp, _ in chunk]

            pending: list[Future] = submit(chunks[0]) if chunks else []
            for i, chunk in enumerate(chunks):
                decoded = [f.result() for f in pending]
                # decode the next batch while this one is in the network
                pending = submit(chunks[i + 1]) if i + 1 < len(chunks) else []
                ready = []
                for (inp, rec), (img, err, secs) in zip(chunk, decoded):
                    rec.seconds['decode'] = secs
                    if err is not None:
                        log.fail(rec, err)
                    else:
                        ready.append((inp, rec, img))
                t0 = time.perf_counter()
                results = _process(job, [img for _, _, img in ready], [inp for inp, _, _ in ready])
                per_image = (time.perf_counter() - t0) / max(1, len(ready))
                for (inp, rec, _), res in zip(ready, results):
                    rec.seconds['process'] = round(per_image, 4)
                    if isinstance(res, BaseException):
                        log.fail(rec, describe_failure(inp.path, res))
                        continue
                    rec.info = res.info
                    faces += int(res.info.get('faces', 1))
                    problem = _write(res, inp, rec, out_root, guard, getattr(job, 'what', 'results'))
                    if problem:
                        log.fail(rec, problem)
                    else:
                        log.done(rec)
                bar.update(len(chunk))
                bar.set_postfix_str(f'{faces / max(1e-9, time.perf_counter() - started):.2f} faces/s')
    finally:
        bar.close()  # before any line said after it (Ctrl-C), so that line starts a line of its own


def _write(res: Result, inp: InputFile, rec: Record, out_root: Path, guard: OutputGuard,
           what: str = 'results') -> str | None:
    """Write one input's results; why not, as its error line (``what``: the job's name for them)."""
    t0 = time.perf_counter()
    try:
        rec.outputs += [str(p) for p in write_results(out_root, inp.name, res.outputs, guard.claim)]
    except ResultRefused as exc:
        return f'{inp.path}: {exc}'
    except OSError as exc:
        where = f'{exc.strerror}: {exc.filename}' if exc.strerror and exc.filename else exc.strerror or exc
        return f'{inp.path}: cannot write its {what} ({where})'
    rec.seconds['write'] = round(time.perf_counter() - t0, 4)
    return None


def _process(job: Job, images: list[np.ndarray], inputs: list[InputFile]) -> list[Result | Exception]:
    """The batch at once; if it fails as a whole, image by image so one bad input costs only itself."""
    if not images:
        return []
    try:
        return job.process(images, inputs)
    except Exception as exc:  # noqa: BLE001  (isolated below)
        if len(images) == 1:
            return [exc]
    results: list[Result | Exception] = []
    for img, inp in zip(images, inputs):
        try:
            results.extend(job.process([img], [inp]))
        except Exception as exc:  # noqa: BLE001  (reported per image)
            results.append(exc)
    return results


def _decode(inp: InputFile, job: Job, max_pixels: int | None) -> tuple[np.ndarray | None, str | None, float]:
    """The image, measured first: neither it nor its result may be over ``max_pixels``."""
    t0 = time.perf_counter()
    try:
        data = read_file(inp.path)
        width, height = image_size(data, inp.path)
        check_pixels(inp.path, width, height, max_pixels)
        out_h, out_w = job.result_size(height, width)
        check_pixels(inp.path, out_w, out_h, max_pixels, 'the result')
        return decode_image(data, inp.path), None, round(time.perf_counter() - t0, 4)
    except CodeformerError as exc:
        return None, describe_failure(inp.path, exc), round(time.perf_counter() - t0, 4)
