"""A probe for multi-process training tests, loaded by Python itself when this folder is on PYTHONPATH.

Python imports ``sitecustomize`` at start-up, so the real command (``torchrun ... codeformer/train.py``) runs
unchanged while each worker process records what the tests need to see from the inside, one JSON object a
line, in ``$CODEFORMER_TRAIN_PROBE/rank<RANK>.jsonl``:

- ``sample``: each index its training sampler (basicsr's ``EnlargedSampler``) hands to the loader, with the epoch;
- ``write``: each file or folder it creates or writes under ``./experiments``, and ``how`` (``open`` for
  writing, ``mkdir``, ``rename``, ``torch.save``, ``cv2.imwrite``);
and at the end of training it saves its networks' parameters and buffers to
``$CODEFORMER_TRAIN_PROBE/weights_rank<RANK>.pth``.
It does nothing in processes without ``RANK`` (the torchrun agent, single-process runs) or without the variable.
"""
from __future__ import annotations

import json
import os
import sys


def _install(folder: str, rank: int) -> None:
    from codeformer import compat

    os.makedirs(folder, exist_ok=True)
    records = open(os.path.join(folder, f'rank{rank}.jsonl'), 'a', buffering=1)  # before the audit hook
    experiments = os.path.join(os.getcwd(), 'experiments') + os.sep

    def record(**entry) -> None:
        records.write(json.dumps(entry) + '\n')

    def wrote(path, how: str) -> None:
        if isinstance(path, (str, os.PathLike)):
            path = os.path.abspath(os.fspath(path))
            if path.startswith(experiments):
                record(kind='write', how=how, path=os.path.relpath(path, os.getcwd()))

    def audit(event: str, args: tuple) -> None:
        if event == 'open':
            path, mode, flags = args
            writing = any(c in mode for c in 'wax+') if isinstance(mode, str) else bool(
                flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            if writing:
                wrote(path, 'open')
        elif event == 'os.mkdir':
            wrote(args[0], 'mkdir')
        elif event == 'os.rename':
            wrote(args[1], 'rename')

    sys.addaudithook(audit)

    def patch_sampler(module) -> None:
        original = module.EnlargedSampler.__iter__

        def __iter__(self):
            for index in original(self):
                record(kind='sample', epoch=self.epoch, index=int(index))
                yield index

        module.EnlargedSampler.__iter__ = __iter__

    def patch_writers(module) -> None:  # basicsr.utils.img_util, which imports cv2
        import cv2
        import torch
        save, imwrite = torch.save, cv2.imwrite

        def torch_save(obj, f, *args, **kwargs):
            wrote(f, 'torch.save')
            return save(obj, f, *args, **kwargs)

        def cv2_imwrite(path, *args, **kwargs):
            wrote(path, 'cv2.imwrite')
            return imwrite(path, *args, **kwargs)

        torch.save, cv2.imwrite = torch_save, cv2_imwrite

    def patch_model(module) -> None:
        import torch
        original = module.FaceModelBase.save

        def save(self, epoch: int, current_iter: int) -> None:
            original(self, epoch, current_iter)
            if current_iter == -1:  # the end of training, reached by every process
                nets = {name: getattr(self, name, None) for name in ('net_g', 'net_g_ema', 'net_d')}
                torch.save({name: {'params': dict(self.get_bare_model(net).named_parameters()),
                                   'buffers': dict(self.get_bare_model(net).named_buffers())}
                            for name, net in nets.items() if net is not None},
                           os.path.join(folder, f'weights_rank{rank}.pth'))

        module.FaceModelBase.save = save

    compat.after_import('basicsr.data.data_sampler', patch_sampler)
    compat.after_import('basicsr.utils.img_util', patch_writers)
    compat.after_import('codeformer.models.base', patch_model)


if os.environ.get('CODEFORMER_TRAIN_PROBE') and 'RANK' in os.environ:
    _install(os.environ['CODEFORMER_TRAIN_PROBE'], int(os.environ['RANK']))
