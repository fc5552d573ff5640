"""The weight zoo as a user meets it: files served by a real HTTP server on 127.0.0.1, downloaded, resumed,
verified and placed, or refused with one clear line."""
import hashlib
import io
import logging
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

from codeformer import weight_zoo as zoo
from codeformer.archs import CodeFormer
from codeformer.cli.download import main as download_main
from codeformer.notices import logger, show_notices
from codeformer.weight_zoo import WeightFile, WeightsUnavailable
from tests.support.http_server import FileServer

ROOT = Path(__file__).resolve().parent.parent
SMALL = dict(dim_embd=64, n_head=8, n_layers=2, codebook_size=32, latent_size=4, connect_list=['8', '16'],
             img_size=64, nf=32)
TINY = WeightFile('tiny', 'CodeFormer', 'tiny_codeformer.pth', 'tests', network=partial(CodeFormer, **SMALL),
                  licence=zoo.SLAB_LICENCE)


def _save(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _sha_entry(data: bytes, name: str = 'blob.bin', group: str = 'misc') -> WeightFile:
    return WeightFile(name, group, name, 'tests', sha256=hashlib.sha256(data).hexdigest())


@pytest.fixture(scope='module')
def tiny_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return CodeFormer(**SMALL).state_dict()


@pytest.fixture(scope='module')
def tiny_bytes(tiny_state) -> bytes:
    return _save({'params_ema': tiny_state})


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Nothing lands in the checkout's weights/: the default root is a temporary folder."""
    root = tmp_path / 'root'
    monkeypatch.setattr(zoo, 'default_root', lambda: root)
    monkeypatch.setattr(zoo, '_notices_shown', set())
    monkeypatch.delenv(zoo.ENV_DIR, raising=False)
    monkeypatch.delenv(zoo.ENV_MIRROR, raising=False)
    monkeypatch.setenv('no_proxy', '127.0.0.1,localhost')
    monkeypatch.setattr(logger, 'handlers', list(logger.handlers))
    show_notices()  # as the command line and the web page do; a program that does not ask hears nothing
    return root


@pytest.fixture
def server(monkeypatch):
    with FileServer() as srv:
        monkeypatch.setenv(zoo.ENV_MIRROR, srv.url)
        yield srv


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# --- downloading --------------------------------------------------------------------------------------------


def test_download_lands_in_the_group_folder_verified(server, tiny_bytes, isolated, capsys):
    server.files['/tiny_codeformer.pth'] = tiny_bytes
    path = zoo.resolve(TINY, progress=True)
    assert path == isolated / 'weights' / 'CodeFormer' / 'tiny_codeformer.pth'
    assert path.read_bytes() == tiny_bytes
    assert _leftovers(path.parent) == ['tiny_codeformer.pth']
    assert zoo.resolve(TINY) == path and len(server.requests) == 1  # found locally the second time
    err = capsys.readouterr().err
    notice = [line for line in err.splitlines() if 'S-Lab License' in line]
    assert len(notice) == 1 and 'non-commercial' in notice[0] and 'official release' in notice[0]
    assert 'tiny_codeformer.pth' in err.replace(notice[0], '')  # the progress bar


def test_download_goes_to_the_env_dir_quietly_and_the_notice_shows_once(server, tiny_bytes, tmp_path, monkeypatch,
                                                                        capsys):
    monkeypatch.setenv(zoo.ENV_DIR, str(tmp_path / 'mine'))
    server.files['/tiny_codeformer.pth'] = tiny_bytes
    other = WeightFile('tiny2', 'CodeFormer', 'tiny_codeformer.pth', network=TINY.network, licence=zoo.SLAB_LICENCE)
    assert zoo.resolve(TINY, progress=False) == tmp_path / 'mine' / 'CodeFormer' / 'tiny_codeformer.pth'
    zoo.fetch(other, dest=tmp_path / 'again.pth', progress=False)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and 'S-Lab License' in err[0]  # no progress bar, one notice for the process


def test_the_library_says_nothing_unless_asked(server, tiny_bytes, monkeypatch, capsys):
    monkeypatch.setattr(logger, 'handlers', [h for h in logger.handlers if isinstance(h, logging.NullHandler)])
    server.files['/tiny_codeformer.pth'] = tiny_bytes
    assert zoo.resolve(TINY, progress=False).read_bytes() == tiny_bytes
    assert capsys.readouterr() == ('', '')


def test_a_cut_download_resumes_with_a_range_request(server, tiny_bytes):
    half = len(tiny_bytes) // 2
    server.files['/tiny_codeformer.pth'] = tiny_bytes
    server.cut_after['/tiny_codeformer.pth'] = half
    path = zoo.resolve(TINY, progress=False)
    assert path.read_bytes() == tiny_bytes
    assert [r.range for r in server.requests] == [None, f'bytes={half}-']
    assert zoo.check_file(TINY, path) is None


def test_a_part_left_by_an_earlier_run_is_resumed(server, isolated):
    data = os.urandom(300_000)
    entry = _sha_entry(data)
    server.files['/blob.bin'] = data
    part = isolated / 'weights' / 'misc' / 'blob.bin.part'
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:123_456])
    path = zoo.resolve(entry, progress=False)
    assert path.read_bytes() == data and not part.exists()
    assert [r.range for r in server.requests] == ['bytes=123456-']


def test_a_server_that_ignores_range_gets_a_fresh_start(server, isolated):
    data = os.urandom(200_000)
    server.files['/blob.bin'] = data
    server.ignore_range = True
    part = isolated / 'weights' / 'misc' / 'blob.bin.part'
    part.parent.mkdir(parents=True)
    part.write_bytes(b'x' * 5000)  # not even the right bytes: appending would corrupt the file
    assert zoo.resolve(_sha_entry(data), progress=False).read_bytes() == data
    assert server.requests[0].range == 'bytes=5000-'


def test_a_stale_part_longer_than_the_file_is_discarded(server, isolated):
    data = os.urandom(10_000)
    server.files['/blob.bin'] = data
    part = isolated / 'weights' / 'misc' / 'blob.bin.part'
    part.parent.mkdir(parents=True)
    part.write_bytes(b'y' * 20_000)
    assert zoo.resolve(_sha_entry(data), progress=False).read_bytes() == data
    assert [r.range for r in server.requests] == ['bytes=20000-', None]  # 416, then from the start


def test_a_complete_part_is_verified_and_placed_without_downloading_again(server, isolated):
    data = os.urandom(10_000)
    server.files['/blob.bin'] = data
    part = isolated / 'weights' / 'misc' / 'blob.bin.part'
    part.parent.mkdir(parents=True)
    part.write_bytes(data)  # an earlier run got every byte, then stopped before moving it into place
    assert zoo.resolve(_sha_entry(data), progress=False).read_bytes() == data
    assert [r.range for r in server.requests] == ['bytes=10000-']  # answered 416: nothing more to send


def _corrupt(kind: str, tiny_state: dict) -> tuple[WeightFile, bytes]:
    if kind == 'wrong bytes':
        return TINY, os.urandom(50_000)
    if kind == 'wrong keys':
        state = dict(tiny_state)
        state['renamed.weight'] = state.pop('position_emb')
        return TINY, _save({'params_ema': state})
    if kind == 'wrong shapes':
        return TINY, _save({'params_ema': CodeFormer(**{**SMALL, 'codebook_size': 16}).state_dict()})
    if kind == 'wrong sha256':
        return WeightFile('tiny_sha', 'CodeFormer', 'tiny_codeformer.pth', sha256='0' * 64), b'not it'
    if kind == 'wrong hash prefix':
        return WeightFile('det', 'dlib', 'tiny_codeformer-0badc0de.dat'), b'not it either'
    raise AssertionError(kind)


@pytest.mark.parametrize('kind', ['wrong bytes', 'wrong keys', 'wrong shapes', 'wrong sha256', 'wrong hash prefix'])
def test_a_corrupt_download_is_rejected_and_nothing_is_left(kind, server, tiny_state, isolated):
    entry, data = _corrupt(kind, tiny_state)
    server.files[f'/{entry.filename}'] = data
    with pytest.raises(WeightsUnavailable) as info:
        zoo.resolve(entry, progress=False)
    message = str(info.value)
    assert '\n' not in message and 'failed verification' in message and entry.filename in message
    folder = isolated / 'weights' / entry.group
    assert _leftovers(folder) == [] and zoo.find(entry) is None


def test_a_pickle_that_would_run_code_is_refused(server, tmp_path, isolated):
    marker = tmp_path / 'pwned'

    class Evil:
        def __reduce__(self):
            return os.system, (f'touch {marker}',)

    evil = _save({'params_ema': Evil()})
    server.files['/tiny_codeformer.pth'] = evil
    with pytest.raises(WeightsUnavailable, match='failed verification: not a loadable checkpoint'):
        zoo.resolve(TINY, progress=False)
    local = tmp_path / 'evil.pth'
    local.write_bytes(evil)
    with pytest.raises(WeightsUnavailable) as info:
        zoo.load_state_dict(TINY, path=local)
    assert str(info.value).startswith(f'{local}: not a loadable checkpoint')
    # the real cause (what the file tried to run), not PyTorch's advice to load it unsafely
    assert 'could run code' in str(info.value) and 'system' in str(info.value)
    assert 'weights_only' not in str(info.value)
    assert not marker.exists() and _leftovers(isolated / 'weights' / 'CodeFormer') == []
    torch.load(local, weights_only=False)  # the file really is armed: a plain unpickling runs the command
    assert marker.exists()


def test_with_the_server_gone_one_line_names_file_url_and_folder(server, isolated, capsys):
    url = f'{server.url}/tiny_codeformer.pth'
    server.stop()
    with pytest.raises(WeightsUnavailable) as info:
        zoo.resolve(TINY, progress=False)
    message, folder = str(info.value), isolated / 'weights' / 'CodeFormer'
    assert '\n' not in message
    assert f'cannot get tiny_codeformer.pth from {url} (Connection refused)' in message
    assert f'put it in {folder}/' in message
    assert info.value.url == url and info.value.folder == str(folder)
    assert _leftovers(folder) == []
    assert capsys.readouterr().err == ''  # the message above is all the user sees


def test_a_missing_file_on_the_server_is_reported(server):
    with pytest.raises(WeightsUnavailable, match=r'\(HTTP 404 Not Found\)'):
        zoo.resolve(TINY, progress=False)


# --- finding ------------------------------------------------------------------------------------------------


def test_lookup_order(tmp_path, isolated, monkeypatch):
    entry = _sha_entry(b'', name='w.pth', group='grp')
    default = isolated / 'weights' / 'grp' / 'w.pth'
    env = tmp_path / 'env'
    flat, grouped = env / 'w.pth', env / 'grp' / 'w.pth'
    with pytest.raises(WeightsUnavailable, match='not found locally and downloads are disabled'):
        zoo.resolve(entry, download=False)
    for p in (default, grouped, flat):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b'')
    assert zoo.resolve(entry, download=False) == default
    monkeypatch.setenv(zoo.ENV_DIR, str(env))
    assert zoo.candidates(entry) == [flat, grouped, default]
    assert zoo.resolve(entry, download=False) == flat
    flat.unlink()
    assert zoo.resolve(entry, download=False) == grouped
    assert zoo.download_dir(entry) == env / 'grp'
    explicit = tmp_path / 'elsewhere.pth'
    explicit.write_bytes(b'')
    assert zoo.resolve(entry, explicit, download=False) == explicit
    with pytest.raises(WeightsUnavailable, match='nope.pth: no such file'):
        zoo.resolve(entry, tmp_path / 'nope.pth')


def test_the_root_is_the_checkout_else_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    (tmp_path / 'checkout' / 'codeformer').mkdir(parents=True)
    (tmp_path / 'checkout' / 'setup.py').write_text('')
    (tmp_path / 'site' / 'codeformer').mkdir(parents=True)
    assert zoo._root_for(tmp_path / 'checkout' / 'codeformer') == tmp_path / 'checkout'
    assert zoo._root_for(tmp_path / 'site' / 'codeformer') == tmp_path / 'home' / '.cache' / 'codeformer'
    assert zoo._root_for(ROOT / 'codeformer') == ROOT


# --- loading and checks -------------------------------------------------------------------------------------


def test_local_files_load_or_fail_naming_their_path(tmp_path, tiny_state):
    good, bad = tmp_path / 'good.pth', tmp_path / 'bad.pth'
    good.write_bytes(_save({'params': tiny_state}))
    bad.write_bytes(_save({'params_ema': {'x': torch.zeros(1)}}))
    net = zoo.load_network(CodeFormer(**SMALL), TINY, good)
    assert torch.equal(net.position_emb, tiny_state['position_emb'])
    with pytest.raises(WeightsUnavailable) as info, torch.device('meta'):
        zoo.load_network(CodeFormer(**SMALL), TINY, bad)
    assert str(info.value).startswith(f'{bad}: does not fit CodeFormer:') and '\n' not in str(info.value)


def test_a_file_name_hash_prefix_is_checked(tmp_path):
    data = b'dlib model bytes'
    name = f'model-{hashlib.sha256(data).hexdigest()[:8]}.dat'
    (tmp_path / name).write_bytes(data)
    assert zoo.check_file(WeightFile('d', 'dlib', name), tmp_path / name) is None
    assert zoo.check_file(WeightFile('d', 'dlib', 'model-0badc0de.dat'), tmp_path / name).startswith('sha256 starts')


def test_stage2_files_with_or_without_fusion_blocks_fit(tmp_path, tiny_state):
    entry = WeightFile('s2', 'CodeFormer', 's2.pth', network=partial(CodeFormer, **SMALL),
                       optional=('fuse_convs_dict.',))
    state = tiny_state
    without = {k: v for k, v in state.items() if not k.startswith('fuse_convs_dict.')}
    for name, sd in [('with.pth', state), ('without.pth', without)]:
        (tmp_path / name).write_bytes(_save({'params_ema': sd}))
        assert zoo.check_file(entry, tmp_path / name) is None
    del without['position_emb']
    (tmp_path / 'broken.pth').write_bytes(_save({'params_ema': without}))
    assert '1 missing (e.g. position_emb)' in zoo.check_file(entry, tmp_path / 'broken.pth')


def test_latent_code_files(tmp_path):
    codes = np.arange(16, dtype=np.int64).reshape(16, 1)
    (tmp_path / 'ok.pth').write_bytes(_save({'orig': {'a.png': codes}, 'hflip': {'a.png': torch.from_numpy(codes)}}))
    (tmp_path / 'bad.pth').write_bytes(_save({'orig': {'a.png': codes}}))
    assert zoo.check_file('latent_gt', tmp_path / 'ok.pth') is None
    assert "'orig' and 'hflip'" in zoo.check_file('latent_gt', tmp_path / 'bad.pth')


def test_the_table():
    expected = {
        'codeformer': ('CodeFormer', 'codeformer.pth'),
        'codeformer_colorization': ('CodeFormer', 'codeformer_colorization.pth'),
        'codeformer_inpainting': ('CodeFormer', 'codeformer_inpainting.pth'),
        'vqgan': ('CodeFormer', 'vqgan_code1024.pth'),
        'codeformer_stage2': ('CodeFormer', 'codeformer_stage2.pth'),
        'latent_gt': ('CodeFormer', 'latent_gt_code1024.pth'),
        'retinaface_resnet50': ('facelib', 'detection_Resnet50_Final.pth'),
        'retinaface_mobile0.25': ('facelib', 'detection_mobilenet0.25_Final.pth'),
        'parsenet': ('facelib', 'parsing_parsenet.pth'),
        'realesrgan_x2plus': ('realesrgan', 'RealESRGAN_x2plus.pth'),
        'dlib_mmod': ('dlib', 'mmod_human_face_detector-4cb19393.dat'),
        'dlib_5_landmarks': ('dlib', 'shape_predictor_5_face_landmarks-c4b1e980.dat'),
    }
    assert {k: (e.group, e.filename) for k, e in zoo.ZOO.items()} == expected
    for e in zoo.ZOO.values():
        assert e.url == f'https://github.com/sczhou/CodeFormer/releases/download/v0.1.0/{e.filename}'
        assert (e.licence is not None) == (e.group == 'CodeFormer')
    assert zoo.ZOO['dlib_mmod'].hash_prefix == '4cb19393' and zoo.ZOO['codeformer'].hash_prefix is None
    assert set(zoo.SETS['all']) == set(expected) == {k for s in zoo.SETS.values() for k in s}
    with pytest.raises(ValueError, match='needs a way to verify it'):
        WeightFile('unchecked', 'misc', 'unchecked.bin')


# --- the download command -----------------------------------------------------------------------------------


def test_main_downloads_a_set_and_force_replaces_it(server, tiny_bytes, tiny_state, isolated, monkeypatch, capsys):
    monkeypatch.setitem(zoo.ZOO, 'tiny', TINY)
    monkeypatch.setitem(zoo.SETS, 'tiny', ('tiny',))
    server.files['/tiny_codeformer.pth'] = tiny_bytes
    path = isolated / 'weights' / 'CodeFormer' / 'tiny_codeformer.pth'
    assert download_main(['tiny', '-q']) == 0 and path.read_bytes() == tiny_bytes
    assert download_main(['tiny']) == 0 and len(server.requests) == 1  # present: nothing to do
    newer = _save({'params': tiny_state})
    server.files['/tiny_codeformer.pth'] = newer
    assert download_main(['tiny', '--force', '-q']) == 0 and path.read_bytes() == newer
    assert capsys.readouterr().out.splitlines() == [str(path)] * 3


def _start_script(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / 'scripts' / 'download_pretrained_models.py'), *args],
                            env={**os.environ, 'no_proxy': '127.0.0.1,localhost', **env}, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_script_fails_with_exit_2_and_one_line(tmp_path):
    """Two runs side by side (each pays for importing torch): the server gone; a mismatching file served."""
    with FileServer() as gone:
        gone_url = gone.url
    gone_dir = tmp_path / 'gone'
    present_dir = tmp_path / 'present'
    present_dir.mkdir()
    present = present_dir / 'mmod_human_face_detector-4cb19393.dat'
    present.write_bytes(b'already here')
    with FileServer(files={'/shape_predictor_5_face_landmarks-c4b1e980.dat': b'wrong bytes'}) as srv:
        runs = [_start_script('dlib', env={zoo.ENV_MIRROR: gone_url, zoo.ENV_DIR: str(gone_dir)}),
                _start_script('dlib', '--quiet', env={zoo.ENV_MIRROR: srv.url, zoo.ENV_DIR: str(present_dir)})]
        (_, gone_err), (present_out, present_err) = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [2, 2], (gone_err, present_err)

    lines = gone_err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f'error: cannot get mmod_human_face_detector-4cb19393.dat from {gone_url}/')
    assert f'put it in {gone_dir / "dlib"}/' in lines[0]
    assert _leftovers(gone_dir) == []

    assert present_out.splitlines() == [str(present)]  # found, kept, not fetched
    assert present_err.count('\n') == 1 and 'failed verification: sha256' in present_err
    assert _leftovers(present_dir) == [present.name]


def test_importing_the_zoo_is_cheap():
    """The download command starts at once: the table imports neither torch nor the packages the networks need."""
    code = ('import sys, codeformer.weight_zoo as z; z.ZOO, z.SETS; '
            'print(sorted({"torch", "facexlib", "basicsr", "tqdm"} & set(sys.modules)))')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.stdout.strip() == '[]', result.stderr
