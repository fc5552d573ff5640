"""A run on a Ray cluster (``RunOptions.ray``: an address, or '' for the running or a new local one), with Ray Data.

The driver lists the inputs as a local run does (the same names, the same checks before work, ``skip_existing``)
and hands Ray Data one row per batch of the local run: the same files together, so the results are the same bit
for bit. Actors (one per GPU, or one per node on a cluster without GPUs) each load the networks once and run their
batches through ``codeformer.batch.local.run_local``, the very loop of a local run: our own reader (16-bit, alpha,
EXIF), atomic writes into the output folder (which every node must see), one record per file. The records come back
to the driver, which says their lines, shows the progress and writes the one report. A bad file costs only itself; the
batch of an actor that dies is redone by another (Ray restarts the actor and retries; writes are atomic, so
nothing half-written stays).
"""
from __future__ import annotations

import dataclasses
import logging
import pickle
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from codeformer.batch.checks import UsageError
from codeformer.batch.images import already_done, chunked
from codeformer.batch.jobs import Job
from codeformer.batch.options import RunOptions, ScaleSettings
from codeformer.batch.report import Record, RunLog
from codeformer.batch.videos import video_done
from codeformer.utils.inputs import InputFile

INSTALL = 'pip install codeformer[ray]'
ACTOR_START_S = 600  # longest wait for the actors to start (a node that downloads a PyTorch wheel, say)


def require_ray() -> None:
    """Ray (with Ray Data) is importable, else one line saying how to install it (exit code 2)."""
    try:
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise UsageError(f'needs Ray Data, which is not installed ({exc}): {INSTALL}', 'ray', '') from None


class RestoreActor:
    """One Ray actor: the networks loaded once, then batches of files through the local loop."""

    def __init__(self, options: RunOptions, out_root: str, protected: list[str], single_video: bool):
        import ray

        from codeformer.batch.jobs import build_job
        use_assigned_cpus(ray.get_runtime_context().get_assigned_resources().get('CPU'))
        self.options = options
        self.job = build_job(options)
        self.out_root = Path(out_root)
        self.protected = [Path(p) for p in protected]
        self.single_video = single_video
        self.node = ray.get_runtime_context().get_node_id()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each row is one batch of the local run (``[(index, InputFile), ...]``, pickled): its records come back."""
        return {'records': np.array([pickle.dumps(self.restore(pickle.loads(row))) for row in batch['files']],
                                    dtype=object)}

    def restore(self, files: list[tuple[int, InputFile]]) -> list[tuple[int, Record]]:
        from codeformer.batch.local import run_local
        images = [(i, inp) for i, inp in files if inp.kind == 'image']
        videos = [(i, inp) for i, inp in files if inp.kind == 'video']
        log = RunLog(self.out_root, quiet=True)  # says nothing: the driver says what happened
        run_local(log, self.job, self.options, [inp for _, inp in images], [inp for _, inp in videos],
                  self.protected, self.single_video)
        for rec in log.records:
            rec.node = self.node
        return [(i, rec) for (i, _), rec in zip(images + videos, log.records)]  # run_local's order


def use_assigned_cpus(cpus: float | None) -> None:
    """PyTorch's and OpenCV's threads to the CPUs Ray gave this actor: an ``OMP_NUM_THREADS`` set on the node for
    other programs, or OpenCV's pool of every core, would put more threads than CPUs on a node whose CPUs are all
    given out, and every actor there would slow down (measured on 2 cores, two one-CPU actors, OMP_NUM_THREADS=2 on
    the nodes: 23.5 files/s without this, 29.8 with it)."""
    if not cpus:
        return  # an actor given only a GPU: the defaults
    import cv2
    import torch
    threads = max(1, int(cpus))
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)


def _actors_and_resources(ray, wanted: int | None) -> tuple[int, dict]:
    """How many actors, and what each asks of Ray: one GPU each when the cluster has GPUs, else the CPUs of the
    smallest node (one actor per node: PyTorch spreads a face over a node's cores better than processes do)."""
    nodes = [n for n in ray.nodes() if n.get('Alive')]
    gpus = int(sum(n['Resources'].get('GPU', 0) for n in nodes))
    if gpus:
        return wanted or gpus, {'num_gpus': 1}
    smallest = min(int(n['Resources'].get('CPU', 1)) for n in nodes)
    total = int(sum(n['Resources'].get('CPU', 0) for n in nodes))
    actors = wanted or len(nodes)
    return actors, {'num_cpus': max(1, min(smallest, total // actors))}


def run_on_ray(log: RunLog, job: Job, options: RunOptions, inputs: Sequence[InputFile], protected: Sequence[Path],
               single_video: bool) -> None:
    """Restore ``inputs`` on the Ray cluster of ``options.scale.ray`` ('' for the running one, or a new local one),
    recording each in ``log`` in input order. ``job`` (its layout) decides what ``skip_existing`` skips."""
    import ray
    records = [log.add(inp) for inp in inputs]
    todo = []
    for index, (inp, rec) in enumerate(zip(inputs, records)):
        done = already_done(log.out_root, job, inp) if inp.kind == 'image' else video_done(log.out_root, inp)
        if options.output.skip_existing and done:
            log.skip(rec)
        else:
            todo.append(index)
    if not todo:
        return
    started = not ray.is_initialized()
    if started:
        ray.init(address=options.scale.ray or None, include_dashboard=False, logging_level=logging.WARNING,
                 log_to_driver=True)
    bar = tqdm(total=len(todo), unit='file', disable=log.quiet, file=sys.stderr, dynamic_ncols=True)
    finished: set[int] = set()
    try:
        from ray.data import ActorPoolStrategy, DataContext
        logging.getLogger('ray.data').setLevel(logging.ERROR)  # its notes on execution are not the user's concern
        context = DataContext.get_current()
        context.enable_progress_bars = False  # ours, below
        context.print_on_execution_start = False
        # every actor up (its networks loaded) before work is handed out, a little at a time: the batches spread
        # over all of them instead of queueing at the first one ready
        context.wait_for_min_actors_s = ACTOR_START_S
        context.max_tasks_in_flight_per_actor = 2
        actors, resources = _actors_and_resources(ray, options.scale.ray_actors)
        # the batches of a local run (the same files together, so the same results bit for bit); a video alone
        size = options.network.batch_size or (16 if 'num_gpus' in resources else 1)
        images = [i for i in todo if inputs[i].kind == 'image']
        local = [list(b) for b in chunked(images, size)]
        # several consecutive batches to a row (the actor's loop cuts them again at the same places), about four
        # rows per actor: Ray's cost per row (about 9 ms on this CPU) spread over more files, the work still spread
        per_row = max(1, min(16, len(local) // (4 * actors)))
        batches = [sum(group, []) for group in chunked(local, per_row)]
        batches += [[i] for i in todo if inputs[i].kind == 'video']
        rows = [{'files': pickle.dumps([(i, inputs[i]) for i in b])} for b in batches]
        actor_options = dataclasses.replace(options.but(output={'skip_existing': False}), quiet=True,
                                            scale=ScaleSettings())
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
            RestoreActor, batch_size=1, compute=ActorPoolStrategy(size=actors), batch_format='numpy',
            fn_constructor_kwargs=dict(options=actor_options, out_root=str(log.out_root),
                                       protected=[str(p) for p in protected], single_video=single_video), **resources)
        try:
            for batch in dataset.iter_batches(batch_size=None, batch_format='numpy'):
                for result in batch['records']:
                    for index, done in pickle.loads(result):
                        rec = records[index]
                        vars(rec).update({k: v for k, v in vars(done).items() if k not in ('input', 'kind')})
                        finished.add(index)
                        log.announce(rec)
                        bar.update(1)
        except ray.exceptions.RayError as exc:  # the cluster went away: what was not done is named, nothing else
            cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            for index in todo:
                if index not in finished:
                    log.fail(records[index], f'{records[index].input}: not restored: the Ray job stopped ({cause})')
    finally:
        bar.close()
        if started:
            ray.shutdown()
