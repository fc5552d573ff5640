"""Every weight file the project uses, where it comes from, and the one code path that finds or downloads it.

Lookup order for a file (``resolve``): an explicit path; ``$CODEFORMER_WEIGHTS_DIR/<file>`` or
``$CODEFORMER_WEIGHTS_DIR/<group>/<file>``; ``<root>/weights/<group>/<file>``, where ``<root>`` is the project
checkout (the folder above this package when it holds ``setup.py``), else ``~/.cache/codeformer``.
A missing file is downloaded into ``<dest>.part`` beside its destination (resuming an interrupted transfer
with an HTTP ``Range`` request), verified, and only then renamed into place, so nothing unverified ever sits
where a loader looks. ``$CODEFORMER_MIRROR`` replaces the release base URL.

Any failure to provide a file is a ``WeightsUnavailable`` with a one-line message naming the file, its URL,
the cause and the folder to put it in; the command line (``codeformer.cli.download``) turns it into exit code 2.
"""
from __future__ import annotations

import hashlib
import http.client
import importlib
import os
import re
import sys
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from codeformer.errors import CodeformerError
from codeformer.notices import logger

if TYPE_CHECKING:  # torch stays out of the import of this module's table
    import torch
    from torch import nn

RELEASE_URL = 'https://github.com/sczhou/CodeFormer/releases/download/v0.1.0'
RELEASE_PAGE = 'https://github.com/sczhou/CodeFormer/releases/tag/v0.1.0'
ENV_DIR = 'CODEFORMER_WEIGHTS_DIR'
ENV_MIRROR = 'CODEFORMER_MIRROR'
SLAB_LICENCE = 'NTU S-Lab License 1.0 (non-commercial use only)'
TIMEOUT = 30.0  # seconds without data before a download attempt gives up
ATTEMPTS = 3  # attempts per download; a retry happens only after an attempt that made progress
CHUNK = 1 << 16

_HASH_IN_NAME = re.compile(r'-([0-9a-f]{8,64})\.[^.]+$')  # torch-hub convention: name-<sha256 prefix>.ext
_notices_shown: set[str] = set()


class WeightsUnavailable(CodeformerError, RuntimeError):
    """A weight file that cannot be provided; ``str()`` is one line naming the file, URL, cause and folder."""

    def __init__(self, message: str, filename: str = '', url: str = '', folder: str | Path = '', cause: str = ''):
        super().__init__(_one_line(message))
        self.filename, self.url, self.folder, self.cause = filename, url, str(folder), cause


@dataclass(frozen=True)
class WeightFile:
    """One released file: where it is kept, where it comes from, and how a good copy is recognised.

    At least one check must apply: a full ``sha256``; a sha256 prefix in the file name (``name-1a2b3c4d.ext``);
    ``network``, a builder of the network whose parameter names and shapes the checkpoint must fit (called under
    ``torch.device('meta')``, so it costs no memory; key prefixes in ``optional`` may be absent from the file);
    or ``check``, a function returning what is wrong with a file, or None.
    """

    key: str
    group: str
    filename: str
    used_by: str = ''
    network: Callable[[], nn.Module] | None = None
    optional: tuple[str, ...] = ()
    sha256: str | None = None
    check: Callable[[Path], str | None] | None = None
    licence: str | None = None
    base_url: str = RELEASE_URL

    def __post_init__(self) -> None:
        if not (self.sha256 or self.hash_prefix or self.network or self.check):
            raise ValueError(f'{self.key}: a weight file needs a way to verify it (sha256, network or check)')

    @property
    def url(self) -> str:
        """Where the file is downloaded from: ``$CODEFORMER_MIRROR`` when set, else the release."""
        base = os.environ.get(ENV_MIRROR) or self.base_url
        return f'{base.rstrip("/")}/{self.filename}'

    @property
    def hash_prefix(self) -> str | None:
        """The sha256 prefix a torch-hub style file name carries, e.g. ``…-4cb19393.dat``."""
        match = _HASH_IN_NAME.search(self.filename)
        return match.group(1) if match else None


def _build(module: str, name: str, **kwargs) -> nn.Module:
    """Import ``module`` only when a network is needed, so importing the zoo stays cheap."""
    import codeformer  # noqa: F401  (installs the torchvision shim before basicsr/facexlib)

    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return getattr(importlib.import_module(module), name)(**kwargs)


def _net(module: str, name: str, **kwargs) -> Callable[[], nn.Module]:
    return partial(_build, module, name, **kwargs)


def _check_latent_codes(path: Path) -> str | None:
    """The stage II/III code file must be {'orig': {name: codes}, 'hflip': {name: codes}}."""
    import numpy as np
    import torch

    try:
        reconstruct = importlib.import_module('numpy._core.multiarray')._reconstruct
    except ImportError:  # numpy 1.x
        reconstruct = importlib.import_module('numpy.core.multiarray')._reconstruct
    dtypes = [type(np.dtype(t)) for t in ('int64', 'int32', 'int16', 'uint8', 'float32')]
    allowed = [np.ndarray, np.dtype, *dtypes, (reconstruct, 'numpy.core.multiarray._reconstruct'),
               (reconstruct, 'numpy._core.multiarray._reconstruct')]
    try:
        with torch.serialization.safe_globals(allowed):  # plain arrays only; no code can run
            obj = torch.load(os.fspath(path), map_location='cpu', weights_only=True)
    except Exception as exc:  # unpickling errors come in many types
        return f'not a loadable file ({_first_line(exc)})'
    if not isinstance(obj, Mapping) or not all(isinstance(obj.get(k), Mapping) for k in ('orig', 'hflip')):
        return "not a latent-code file (expected a dict with 'orig' and 'hflip' dicts)"
    for part in ('orig', 'hflip'):
        for name, codes in obj[part].items():
            if not isinstance(codes, torch.Tensor | np.ndarray):
                return f"{part}[{name!r}] holds a {type(codes).__name__}, not an array of codes"
    return None


def _codeformer_file(key: str, filename: str, used_by: str, **kwargs) -> WeightFile:
    return WeightFile(key, 'CodeFormer', filename, used_by, licence=SLAB_LICENCE, **kwargs)


_ARCHS = 'codeformer.archs'
_ENTRIES = [
    _codeformer_file('codeformer', 'codeformer.pth', 'face restoration (inference_codeformer.py)',
                     network=_net(_ARCHS, 'CodeFormer')),
    _codeformer_file('codeformer_colorization', 'codeformer_colorization.pth',
                     'colorization (inference_colorization.py)',
                     network=_net(_ARCHS, 'CodeFormer', connect_list=('32', '64', '128'))),
    _codeformer_file('codeformer_inpainting', 'codeformer_inpainting.pth', 'inpainting (inference_inpainting.py)',
                     network=_net(_ARCHS, 'CodeFormer', codebook_size=512, connect_list=('32', '64', '128'))),
    _codeformer_file('vqgan', 'vqgan_code1024.pth', 'training: stage I result, starting point of stage II',
                     network=_net(_ARCHS, 'VQAutoEncoder')),
    # stage II trains with w = 0, so the file may or may not carry the (untrained) fusion blocks
    _codeformer_file('codeformer_stage2', 'codeformer_stage2.pth', 'training: starting point of stage III',
                     network=_net(_ARCHS, 'CodeFormer'), optional=('fuse_convs_dict.',)),
    _codeformer_file('latent_gt', 'latent_gt_code1024.pth', 'training: precomputed codes of the FFHQ faces',
                     check=_check_latent_codes),
    WeightFile('retinaface_resnet50', 'facelib', 'detection_Resnet50_Final.pth',
               'face detection on whole images (default detector)',
               network=_net('facexlib.detection.retinaface', 'RetinaFace', network_name='resnet50', half=False,
                            device='meta')),
    WeightFile('retinaface_mobile0.25', 'facelib', 'detection_mobilenet0.25_Final.pth',
               'face detection on whole images (fast detector)',
               network=_net('facexlib.detection.retinaface', 'RetinaFace', network_name='mobile0.25', half=False,
                            device='meta')),
    WeightFile('parsenet', 'facelib', 'parsing_parsenet.pth', 'face parsing for pasting faces back',
               network=_net('facexlib.parsing.parsenet', 'ParseNet', in_size=512, out_size=512, parsing_ch=19)),
    WeightFile('realesrgan_x2plus', 'realesrgan', 'RealESRGAN_x2plus.pth', 'background upsampling (--bg_upsampler)',
               network=_net('basicsr.archs.rrdbnet_arch', 'RRDBNet', num_in_ch=3, num_out_ch=3, num_feat=64,
                            num_block=23, num_grow_ch=32, scale=2)),
    # full sha256 measured on the identical files that the face_recognition_models package ships
    WeightFile('dlib_mmod', 'dlib', 'mmod_human_face_detector-4cb19393.dat', 'face detection with dlib',
               sha256='4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6'),
    WeightFile('dlib_5_landmarks', 'dlib', 'shape_predictor_5_face_landmarks-c4b1e980.dat',
               'five-point landmarks with dlib',
               sha256='c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888'),
]
ZOO: dict[str, WeightFile] = {e.key: e for e in _ENTRIES}

# what ``scripts/download_pretrained_models.py`` accepts, as in the official repository
SETS: dict[str, tuple[str, ...]] = {
    'CodeFormer': ('codeformer', 'codeformer_colorization', 'codeformer_inpainting'),
    'CodeFormer_train': ('vqgan', 'codeformer_stage2', 'latent_gt'),
    'facelib': ('retinaface_resnet50', 'retinaface_mobile0.25', 'parsenet'),
    'dlib': ('dlib_mmod', 'dlib_5_landmarks'),
    'realesrgan': ('realesrgan_x2plus',),
}
SETS['all'] = tuple(ZOO)


def get(key: str | WeightFile) -> WeightFile:
    """The table entry for ``key`` (an entry passes through, so callers and tests can use their own)."""
    if isinstance(key, WeightFile):
        return key
    try:
        return ZOO[key]
    except KeyError:
        raise KeyError(f'unknown weight file {key!r}; known: {", ".join(ZOO)}') from None


def default_root() -> Path:
    """The project checkout when running from one (weights stay beside the code), else ``~/.cache/codeformer``."""
    return _root_for(Path(__file__).resolve().parent)


def _root_for(package_dir: Path) -> Path:
    checkout = package_dir.parent
    return checkout if (checkout / 'setup.py').is_file() else Path.home() / '.cache' / 'codeformer'


def _env_dir() -> Path | None:
    value = os.environ.get(ENV_DIR)
    return Path(value).expanduser() if value else None


def download_dir(key: str | WeightFile) -> Path:
    """The folder a download of ``key`` goes to: ``$CODEFORMER_WEIGHTS_DIR/<group>`` or ``<root>/weights/<group>``."""
    entry = get(key)
    env = _env_dir()
    return (env if env is not None else default_root() / 'weights') / entry.group


def candidates(key: str | WeightFile) -> list[Path]:
    """The places looked at for ``key``, in order (an explicit path comes before all of them)."""
    entry = get(key)
    env = _env_dir()
    found = [env / entry.filename, env / entry.group / entry.filename] if env is not None else []
    return [*found, default_root() / 'weights' / entry.group / entry.filename]


def find(key: str | WeightFile) -> Path | None:
    """The first existing file among ``candidates(key)``, or None."""
    return next((p for p in candidates(key) if p.is_file()), None)


def resolve(key: str | WeightFile, path: str | os.PathLike | None = None, download: bool = True,
            progress: bool = True) -> Path:
    """The local file for ``key``: ``path`` if given, else the first one found, else a verified download.

    Files found locally are returned as they are (the loader reports a bad one); downloads are verified.
    Raises WeightsUnavailable with a one-line message when the file cannot be provided.
    """
    entry = get(key)
    if path is not None:
        explicit = Path(path).expanduser()
        if not explicit.is_file():
            raise WeightsUnavailable(f'{explicit}: no such file (given for {entry.filename}; the released file is '
                                     f'{entry.url})', entry.filename, entry.url, explicit.parent, 'no such file')
        return explicit
    local = find(entry)
    if local is not None:
        return local
    if not download:
        raise _unavailable(entry, download_dir(entry), 'not found locally and downloads are disabled')
    return fetch(entry, progress=progress)


def fetch(key: str | WeightFile, dest: str | os.PathLike | None = None, progress: bool = True,
          restart: bool = False) -> Path:
    """Download ``key`` to ``dest`` (default ``download_dir(key)/<file>``), verify it, and move it into place.

    The transfer goes to ``<dest>.part`` and resumes from it (``restart`` discards it first). A file that fails
    verification is deleted and reported; ``dest`` is only ever replaced atomically by a verified file.
    """
    entry = get(key)
    dest = Path(dest) if dest is not None else download_dir(entry) / entry.filename
    part = dest.with_name(dest.name + '.part')
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if restart:
            part.unlink(missing_ok=True)
        _download(entry.url, part, progress, entry.filename, on_response=partial(_licence_notice, entry))
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise _unavailable(entry, dest.parent, _describe(exc)) from exc
    problem = check_file(entry, part)
    if problem:
        part.unlink(missing_ok=True)
        raise _unavailable(entry, dest.parent, f'the download failed verification: {problem}')
    try:
        os.replace(part, dest)
    except OSError as exc:
        raise _unavailable(entry, dest.parent, _describe(exc)) from exc
    return dest


def check_file(key: str | WeightFile, path: str | os.PathLike) -> str | None:
    """What is wrong with ``path`` as a copy of ``key`` (one line), or None when it passes every check that applies.

    A full sha256 settles it when known; otherwise the hash prefix in the file name, the fit of the checkpoint's
    names and shapes to the network, and the entry's own check all apply.
    """
    entry = get(key)
    path = Path(path)
    if entry.sha256 or entry.hash_prefix:
        digest = _sha256(path)
        if entry.sha256:
            return None if digest == entry.sha256.lower() else f'sha256 is {digest}, expected {entry.sha256}'
        if not digest.startswith(entry.hash_prefix):
            return f'sha256 starts with {digest[:len(entry.hash_prefix)]}, the file name says {entry.hash_prefix}'
    if entry.network is not None:
        problem = _network_problem(entry, path)
        if problem:
            return problem
    if entry.check is not None:
        return entry.check(path)
    return None


def _network_problem(entry: WeightFile, path: Path) -> str | None:
    import torch

    from codeformer.utils.checkpoint import CheckpointError, mismatch, read_state_dict

    try:
        state = read_state_dict(path)
    except CheckpointError as exc:
        return _first_line(exc).removeprefix(f'{path}: ')
    with torch.device('meta'):
        net = entry.network()
    if entry.optional:  # absent optional parts count as present; present ones must still fit
        own = net.state_dict()
        state = {**{k: v for k, v in own.items() if k.startswith(entry.optional)}, **state}
    problem = mismatch(net, state)
    return f'does not fit {type(net).__name__}: {problem}' if problem else None


def load_state_dict(key: str | WeightFile, path: str | os.PathLike | None = None, download: bool = True,
                    progress: bool = True) -> dict[str, torch.Tensor]:
    """The state dict of ``key`` (resolved as ``resolve`` does), read safely; a bad file is a WeightsUnavailable
    naming its path, so the command line can stop with one line instead of a traceback."""
    from codeformer.utils.checkpoint import CheckpointError, read_state_dict

    entry = get(key)
    local = resolve(entry, path, download, progress)
    try:
        return read_state_dict(local)
    except CheckpointError as exc:
        raise _bad_local(entry, local, exc) from exc


def load_network(net: nn.Module, key: str | WeightFile, path: str | os.PathLike | None = None,
                 download: bool = True, progress: bool = True) -> nn.Module:
    """Load ``key`` (or ``path``) into ``net`` strictly; any problem is a one-line WeightsUnavailable."""
    from codeformer.utils.checkpoint import CheckpointError, mismatch, read_state_dict

    entry = get(key)
    local = resolve(entry, path, download, progress)
    try:
        state = read_state_dict(local)
        problem = mismatch(net, state)
        if problem:
            raise CheckpointError(f'does not fit {type(net).__name__}: {problem}')
    except CheckpointError as exc:
        raise _bad_local(entry, local, exc) from exc
    net.load_state_dict(state, strict=True)
    return net


def download_sets(names: Iterable[str], force: bool = False, progress: bool = True) -> list[Path]:
    """Make every file of the named sets (``SETS``) available locally; ``force`` downloads them again,
    replacing each where it was found. Stops at the first file that cannot be provided."""
    return [provide(key, force, progress) for key in set_keys(names)]


def set_keys(names: Iterable[str]) -> list[str]:
    """The keys of the named sets, in table order within each set, each once."""
    return list(dict.fromkeys(k for name in names for k in SETS[name]))


def provide(key: str, force: bool = False, progress: bool = True) -> Path:
    """The local path of ``key``, downloaded if missing; ``force`` downloads it again, replacing it where found."""
    if force:
        return fetch(key, dest=find(key), progress=progress, restart=True)
    return resolve(key, progress=progress)


# --- downloading -------------------------------------------------------------------------------------------


def _download(url: str, part: Path, progress: bool, desc: str, on_response: Callable[[], None] = lambda: None) -> None:
    """Fill ``part`` with the file at ``url``, resuming from its current size; retry after progress was made.
    ``on_response`` runs once the server answers, before any data is read."""
    from tqdm import tqdm

    for attempt in range(1, ATTEMPTS + 1):
        offset = part.stat().st_size if part.exists() else 0
        request = urllib.request.Request(url, headers={'User-Agent': 'codeformer-weight-zoo'})
        if offset:
            request.add_header('Range', f'bytes={offset}-')
        received = 0
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                on_response()
                if offset and response.status == 206 and not _range_starts_at(response, offset):
                    part.unlink()  # not the part we asked for: start over
                    continue
                if offset and response.status != 206:
                    offset = 0  # the server sent the whole file: start over
                length = response.headers.get('Content-Length')
                total = offset + int(length) if length is not None else None
                with open(part, 'ab' if offset else 'wb') as out, \
                        tqdm(total=total, initial=offset, unit='B', unit_scale=True, unit_divisor=1024, desc=desc,
                             file=sys.stderr, disable=not progress, leave=False) as bar:
                    while chunk := response.read(CHUNK):
                        out.write(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
                    out.flush()
                    os.fsync(out.fileno())
            size = part.stat().st_size
            if total is not None and size != total:
                raise http.client.IncompleteRead(b'', total - size)
            return
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and offset:  # nothing left to send past our offset
                complete = re.fullmatch(r'bytes \*/(\d+)', exc.headers.get('Content-Range', '') or '')
                if complete and int(complete.group(1)) == offset:
                    return  # a previous run had received it all
                part.unlink(missing_ok=True)
                continue
            raise
        except (OSError, http.client.HTTPException):
            if received and attempt < ATTEMPTS:
                continue  # resume from what we have
            raise
    raise OSError(f'no complete download after {ATTEMPTS} attempts')


def _range_starts_at(response, offset: int) -> bool:
    match = re.match(r'bytes (\d+)-', response.headers.get('Content-Range', '') or '')
    return bool(match) and int(match.group(1)) == offset


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _licence_notice(entry: WeightFile) -> None:
    """The CodeFormer weights are not ours to relicense: say so once per process before fetching one
    (once the server answers, so that with no network the only output is the error)."""
    if not entry.licence or entry.licence in _notices_shown:
        return
    _notices_shown.add(entry.licence)
    source = f'the official release {RELEASE_PAGE}'
    if os.environ.get(ENV_MIRROR):
        source = f'{os.environ[ENV_MIRROR]} (${ENV_MIRROR}), standing in for {source}'
    logger.info(f'the {entry.group} weights are under the {entry.licence}; {entry.filename} is downloaded from '
                f'{source} (this project does not bundle or re-host them)')


# --- messages ----------------------------------------------------------------------------------------------


def _unavailable(entry: WeightFile, folder: Path, cause: str) -> WeightsUnavailable:
    return WeightsUnavailable(
        f'cannot get {entry.filename} from {entry.url} ({cause}); download it by hand and put it in {folder}/ '
        f'(see weights/README.md)', entry.filename, entry.url, folder, cause)


def _bad_local(entry: WeightFile, path: Path, exc: Exception) -> WeightsUnavailable:
    cause = _first_line(exc).removeprefix(f'{path}: ')
    return WeightsUnavailable(
        f'{path}: {cause}; replace it with a good copy of {entry.filename} from {entry.url} (or delete it to '
        f'download again)', entry.filename, entry.url, path.parent, cause)


def _describe(exc: BaseException) -> str:
    """A short cause for a failed transfer, e.g. 'Connection refused' or 'HTTP 404 Not Found'."""
    if isinstance(exc, urllib.error.HTTPError):
        return f'HTTP {exc.code} {exc.reason}'
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        return reason.strerror if isinstance(reason, OSError) and reason.strerror else str(reason)
    if isinstance(exc, http.client.IncompleteRead):
        return f'connection closed with {exc.expected} bytes still to come'
    if isinstance(exc, TimeoutError):
        return f'no data for {TIMEOUT:g} s'
    if isinstance(exc, OSError) and exc.strerror:
        return f'{exc.strerror}: {exc.filename}' if exc.filename else exc.strerror
    return _first_line(exc) or type(exc).__name__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _one_line(text: str) -> str:
    return ' '.join(text.split())

