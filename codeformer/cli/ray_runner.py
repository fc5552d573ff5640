"""``--ray [ADDRESS]``: the same run on a Ray cluster, with Ray Data.

The driver lists the inputs (as a local run does: the same names, the same checks before work) and hands Ray Data
one row per file: its index, its path as bytes (any name survives Arrow) and its output name. Actors (one per GPU,
or one per node on a cluster without GPUs) each load the networks once and run a batch of files through
``restore.run_local``, the very loop of a local run: our own reader (16-bit, alpha, EXIF), atomic writes into the
output folder (which every node must see), one record per file. The records come back to the driver, which says
their lines, shows the progress and writes the one report. A bad file costs only itself; an actor that dies has its
files redone by another (Ray restarts it and retries the batch; writes are atomic, so nothing half-written stays).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from codeformer.cli.checks import UsageError
from codeformer.cli.log import RunLog
from codeformer.utils.inputs import InputFile

INSTALL = 'pip install codeformer[ray]'


def require_ray() -> None:
    """Ray (with Ray Data) is importable, else one line saying how to install it (exit code 2)."""
    try:
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise UsageError(f'--ray needs Ray Data, which is not installed ({exc}): {INSTALL}') from None


class RestoreActor:
    """One Ray actor: the networks loaded once, then batches of files through the local loop."""

    def __init__(self, command: str, options: dict, protected: list[str], single_video: bool):
        import ray

        from codeformer.cli.restore import build_job
        from codeformer.runtime import auto_batch_size, inference_dtype, select_device
        self.args = argparse.Namespace(**options)
        if self.args.batch_size is None:
            device = select_device(self.args.device)
            self.args.batch_size = auto_batch_size(device, inference_dtype(device, self.args.fp32))
        self.job = build_job(command, self.args)
        self.out_root = Path(self.args.output_root)
        self.protected = [Path(p) for p in protected]
        self.single_video = single_video
        self.node = ray.get_runtime_context().get_node_id()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from codeformer.cli.restore import run_local
        inputs = [InputFile(Path(os.fsdecode(path)), str(kind), os.fsdecode(name))
                  for path, kind, name in zip(batch['path'], batch['kind'], batch['name'])]
        images = [i for i, inp in enumerate(inputs) if inp.kind == 'image']
        videos = [i for i, inp in enumerate(inputs) if inp.kind == 'video']
        log = RunLog(self.out_root, quiet=True, echo=False)  # the driver says what happened
        run_local(log, self.job, self.args, [inputs[i] for i in images], [inputs[i] for i in videos],
                  self.protected, self.single_video)
        order = images + videos  # run_local's order of records
        records = [''] * len(inputs)
        for position, rec in zip(order, log.records):
            rec.node = self.node
            records[position] = json.dumps(vars(rec))
        return {'index': batch['index'], 'record': np.array(records, dtype=object)}


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


def run_on_ray(log: RunLog, command: str, args: argparse.Namespace, inputs: Sequence[InputFile],
               protected: Sequence[Path], single_video: bool) -> None:
    """Restore ``inputs`` on the Ray cluster of ``args.ray`` ('' for the running one, or a new local one),
    recording each in ``log`` in input order."""
    import ray
    records = [log.add(inp) for inp in inputs]
    if not inputs:
        return
    started = not ray.is_initialized()
    if started:
        ray.init(address=args.ray or None, include_dashboard=False, logging_level=logging.WARNING,
                 log_to_driver=True)
    bar = tqdm(total=len(inputs), unit='file', disable=log.quiet, file=sys.stderr, dynamic_ncols=True)
    try:
        from ray.data import ActorPoolStrategy, DataContext
        logging.getLogger('ray.data').setLevel(logging.ERROR)  # its notes on execution are not the user's concern
        context = DataContext.get_current()
        context.enable_progress_bars = False  # ours, below
        context.print_on_execution_start = False
        actors, resources = _actors_and_resources(ray, args.ray_actors)
        options = {**vars(args), 'output_root': str(log.out_root), 'quiet': True, 'shard': None, 'ray': None}
        rows = [{'index': i, 'path': os.fsencode(inp.path), 'kind': inp.kind, 'name': os.fsencode(inp.name)}
                for i, inp in enumerate(inputs)]
        dataset = ray.data.from_items(rows, override_num_blocks=min(len(rows), 4 * actors)).map_batches(
            RestoreActor, batch_size=args.batch_size or (16 if 'num_gpus' in resources else 1),
            compute=ActorPoolStrategy(size=actors), batch_format='numpy',
            fn_constructor_kwargs=dict(command=command, options=options, protected=[str(p) for p in protected],
                                       single_video=single_video), **resources)
        done = [False] * len(inputs)
        try:
            for batch in dataset.iter_batches(batch_size=None, batch_format='numpy'):
                for index, text in zip(batch['index'], batch['record']):
                    rec = records[int(index)]
                    vars(rec).update({k: v for k, v in json.loads(text).items() if k in vars(rec)})
                    done[int(index)] = True
                    log.announce(rec)
                    bar.update(1)
        except ray.exceptions.RayError as exc:  # the cluster went away: what was not done is named, nothing else
            cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            for rec, finished in zip(records, done):
                if not finished:
                    log.fail(rec, f'{rec.input}: not restored: the Ray job stopped ({cause})')
    finally:
        bar.close()
        if started:
            ray.shutdown()

