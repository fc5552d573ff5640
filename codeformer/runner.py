"""The batch loop every front door shares: decode ahead, process in batches, write atomically,
report a bad file in one line and go on, and say in the exit code whether anything failed."""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm import tqdm

from codeformer.utils.image_io import ImageReadError, read_image, write_bytes_atomic, write_image
from codeformer.utils.inputs import InputFile

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2


class Job(Protocol):
    """What one front door does with decoded images."""

    def marker(self, name: str) -> str:
        """Relative path of the output whose presence means ``name`` is done (for --skip_existing)."""

    def process(self, images: list[np.ndarray], inputs: list[InputFile]) -> list[Result | Exception]:
        """One result (or the exception that stopped it) per image, in order."""


@dataclass
class Result:
    outputs: dict[str, np.ndarray]  # relative path with '{name}' -> image
    info: dict = field(default_factory=dict)  # goes into the report (faces found, ...)


@dataclass
class Record:
    input: str
    outputs: list[str] = field(default_factory=list)
    error: str | None = None
    skipped: bool = False
    seconds: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def say_error(message: str) -> None:
    """One line on stderr that does not tear the progress bar."""
    tqdm.write(f'error: {message}', file=sys.stderr)


def run(inputs: Sequence[InputFile], out_root: Path, job: Job, batch_size: int = 4, skip_existing: bool = False,
        quiet: bool = False, report: Path | None = None, unit: str = 'img') -> int:
    """Process ``inputs`` with ``job``; returns the exit code (0 all done, 1 something failed)."""
    records = {inp.path: Record(str(inp.path)) for inp in inputs}
    todo = []
    for inp in inputs:
        if skip_existing and (out_root / job.marker(inp.name).format(name=inp.name)).exists():
            records[inp.path].skipped = True
        else:
            todo.append(inp)
    failed = 0
    bar = tqdm(total=len(todo), unit=unit, disable=quiet, file=sys.stderr, dynamic_ncols=True)
    faces, started = 0, time.perf_counter()
    chunks = list(_chunks(todo, max(1, batch_size)))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix='decode') as pool:
        pending: list[Future] = [pool.submit(_decode, inp) for inp in chunks[0]] if chunks else []
        for i, chunk in enumerate(chunks):
            decoded = [f.result() for f in pending]
            # decode the next batch while this one is in the network
            pending = [pool.submit(_decode, inp) for inp in chunks[i + 1]] if i + 1 < len(chunks) else []
            ready = []
            for inp, (img, err, secs) in zip(chunk, decoded):
                records[inp.path].seconds['decode'] = secs
                if err is not None:
                    records[inp.path].error = err
                    say_error(err)
                    failed += 1
                else:
                    ready.append((inp, img))
            t0 = time.perf_counter()
            results = _process(job, [img for _, img in ready], [inp for inp, _ in ready])
            per_image = (time.perf_counter() - t0) / max(1, len(ready))
            for (inp, _), res in zip(ready, results):
                rec = records[inp.path]
                rec.seconds['process'] = round(per_image, 4)
                if isinstance(res, Exception):
                    rec.error = f'{inp.path}: {res}'
                else:
                    rec.info = res.info
                    faces += int(res.info.get('faces', 1))
                    try:
                        t1 = time.perf_counter()
                        for rel, img in res.outputs.items():
                            target = out_root / rel.format(name=inp.name)
                            write_image(target, img)
                            rec.outputs.append(str(target))
                        rec.seconds['write'] = round(time.perf_counter() - t1, 4)
                    except OSError as exc:
                        rec.error = f'{inp.path}: cannot write result ({exc})'
                if rec.error:
                    say_error(rec.error)
                    failed += 1
            bar.update(len(chunk))
            bar.set_postfix_str(f'{faces / max(1e-9, time.perf_counter() - started):.2f} faces/s')
    bar.close()
    if report is not None:
        write_report(report, records.values())
    if not quiet:
        done = sum(1 for r in records.values() if not r.error and not r.skipped)
        skipped = sum(1 for r in records.values() if r.skipped)
        print(f'{done} done, {failed} failed' + (f', {skipped} skipped (already done)' if skipped else '')
              + f'; results in {out_root}', file=sys.stderr)
    return EXIT_SOME_FAILED if failed else EXIT_OK


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


def _decode(inp: InputFile) -> tuple[np.ndarray | None, str | None, float]:
    t0 = time.perf_counter()
    try:
        return read_image(inp.path), None, round(time.perf_counter() - t0, 4)
    except ImageReadError as exc:
        return None, str(exc), round(time.perf_counter() - t0, 4)


def write_report(path: Path, records) -> None:
    data = [{k: v for k, v in vars(r).items() if v not in (None, {}, [])} for r in records]
    write_bytes_atomic(path, json.dumps(data, indent=2).encode())
