"""codeformer: batch face restoration with the CodeFormer network.

Importing the package applies the basicsr/torchvision compatibility shim (``codeformer.compat``)
first, so basicsr, realesrgan and gfpgan import afterwards. Heavy parts load on first use.

The library (what ``FaceEnhancer`` needs; it parses no command line and prints nothing unless asked):
- ``enhancer``: ``FaceEnhancer``: whole photos: detect, align, restore in batches, paste back, upsample.
- ``hooks``: ``WorkHooks``, what a front end passes into a unit of work (a stop check, progress).
- ``outputs``: the one writer of results (the official layout, each file whole, 16-bit safe) for the batch tool, the
  crop script, video frames and the web page.
- ``restorer``: ``FaceRestorer``: aligned faces through CodeFormer in batches, ``w`` per face.
- ``backends``: what runs the network (``pytorch``, ``onnxruntime``), a registry.
- ``inpainting``: ``inpaint_faces``: the regions painted white (or masked) filled in.
- ``reconstruction``: ``VQGANReconstructor``: faces through a stage-I VQGAN.
- ``alignment``: the landmark templates, the similarity fit and the coordinate maps.
- ``paste``: the paste-back blend (feathered square, parsing mask) in each face's region.
- ``parsing``: ParseNet masks for the paste-back.
- ``gray``: which photos count as gray (both tests from one pass, ``channel_stats``; a colour frame settled from every
  8th row, ``decisive_stats``), and gray faces matched to their crop.
- ``background``: Real-ESRGAN x2 tile by tile, for the background and ``face_upsample``; ``upsamplers``: their registry.
- ``face_crops``: the crop-and-align step and its JSON sidecar.
- ``detection/``: the face detectors (``retinaface``, ``mtcnn``, ``dlib_mmod``; ``common``) behind one ``detect``, in
  a registry.
- ``registry``: the plug-in registries' kind, and the plug-ins loaded from outside the package.
- ``settings``: the values every front end takes, checked once (``PhotoSettings``, the number parsers, ``MAX_UPSCALE``).
- ``video/io``: reading and writing videos with PyAV, audio carried over.
- ``video/tracking``: faces followed from frame to frame, their landmarks smoothed.
- ``video/temporal``: each tracked face's codes kept from frame to frame (``VideoOptions.temporal``).
- ``video/loop``: ``restore_video``: decode, detect, restore and encode at once, in constant memory.
- ``runtime``: device (and a GPU this PyTorch cannot use, said), precision policy (``precisions`` names them),
  inference preparation, ``torch.compile`` with its cache on disk, automatic batch size.
- ``weight_zoo``: the released weight files: where they live, download, verification, licence notice.
- ``onnx_export``: the network as one ONNX file with a working ``weight`` input.
- ``onnx_backend``: that file run in onnxruntime behind ``FaceRestorer``.
- ``errors``: ``CodeformerError`` (a one-line message) and its kinds.
- ``notices``: the library's logger, silent until ``show_notices()``.
- ``utils/image_io``: reading and writing any image safely (16-bit, alpha, EXIF, size from the header).
- ``utils/pngtext``: PNG text chunks (the page's parameters, as AUTOMATIC1111 writes them).
- ``utils/inputs``: the input walker: files in a folder, each with a unique output name.
- ``utils/checkpoint``: ``.pth`` files read safely.
- ``compat``: the workarounds for the packages we build on, each named.
Training (through basicsr's registries):
- ``archs/``: the CodeFormer and VQGAN networks.
- ``models/``: the training models of each stage.
- ``data/``: the FFHQ dataset with its degradations.
- ``losses/``: the code, LPIPS and adaptive GAN losses.
- ``train``: the training command (basicsr's loop on our registries).
The batch core (``batch/``; no command line in it):
- ``batch/options``: ``RunOptions``: what a run is asked to do, in groups (network, pipeline, video, output, scale),
  each checked when made.
- ``batch/run``: a run from its options: inputs, checks, the job, the loops, the report; returns a ``RunOutcome``.
- ``batch/jobs``: what each command does to a batch of images, and where its results go.
- ``batch/local``: a share of files through the loops on this machine.
- ``batch/images``: the image loop: decode ahead, batches, atomic writes, one line per bad file.
- ``batch/videos``: a run's videos through ``video/loop``.
- ``batch/crops``: the crop command's loop.
- ``batch/checks``: what is checked before any work.
- ``batch/report``: one record per input with its status; the summary, the report file, merging reports.
- ``batch/exits``: for the front ends: exit codes (``end_run``), Ctrl-C and SIGTERM, one-line messages.
- ``batch/shards``: one of N parts of a run.
- ``batch/ray_runner``: a run on a Ray cluster.
The front ends, which never import each other:
- ``commands``: the ``codeformer`` command, which picks one of them.
- ``cli/``: the batch tool's options (``arguments``, with library errors put in its words) and its commands
  (``restore``, ``crop``, ``download``, ``export_onnx``, ``merge_reports``).
- ``serve/``: the web page (``command``, ``server``, ``app``, ``guard`` (Host, Origin, token), ``limits`` (queues
  and storage), one routes module per tab, ``http``, ``worker``, ``session``, ``photos``, ``batch``, ``videos``,
  ``store``, ``zipstream``; its own docstring says each).
"""
import importlib

from codeformer import compat  # noqa: F401  isort: skip  (must run before basicsr is imported)

__version__ = '0.1.0'

_LAZY = {
    'CodeFormer': 'codeformer.archs',
    'VQAutoEncoder': 'codeformer.archs',
    'FaceRestorer': 'codeformer.restorer',
    'FaceEnhancer': 'codeformer.enhancer',
    'prepare_for_inference': 'codeformer.runtime',
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
