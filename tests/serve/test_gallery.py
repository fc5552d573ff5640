"""The gallery of results kept in the output folder, through real HTTP (issue 30, point 4): one entry per result (a
re-upload of the same file with the same settings replaces it, after a restart too), small thumbnails made once, the
input kept for the viewer's before/after, Delete into ``.trash``, and the size against the disk's free space."""
import shutil
from pathlib import Path
from urllib.parse import quote

import cv2
import numpy as np
import pytest

from codeformer.utils.image_io import write_image
from codeformer.utils.pngtext import read_texts
from tests.serve.test_app import wait_for, write_face
from tests.support.serve import start_server


@pytest.fixture(scope='module')
def server(checkpoint, tmp_path_factory):
    """A server of this module's own: its tests open dozens of photos, which would take the places of the shared
    server's photo store (32) from the package's other tests."""
    served = start_server(checkpoint, tmp_path_factory.mktemp('gallery-served'))
    yield served
    served.stop()


def grainy_image(width: int, height: int, seed: int) -> np.ndarray:
    """A scene with no face (a gradient with grain): restoring it runs no network; each seed its own bytes."""
    rng = np.random.default_rng(seed)
    x = np.broadcast_to(np.linspace(0, 255, width)[None, :, None], (height, width, 1))
    y = np.broadcast_to(np.linspace(0, 255, height)[:, None, None], (height, width, 1))
    image = np.concatenate([x, y, np.full((height, width, 1), 128.0)], axis=2)
    return np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)


def grainy(path: Path, width: int = 240, height: int = 180, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, grainy_image(width, height, seed))
    return path


def restore_upload(server, path: Path, name: str | None = None, faces: list | None = None, **settings) -> dict:
    """Upload ``path`` (as ``name``) and restore all its faces (or ``faces``): the upload's answer. The server
    keeps the result just after it answers."""
    opened = server.json('POST', f'/api/photos?name={quote(name or path.name)}&detector=mtcnn', path.read_bytes())
    chosen = list(range(len(opened['faces']))) if faces is None else faces
    server.json('POST', f'/api/photos/{opened["id"]}/restore', {'settings': settings, 'faces': chosen})
    return opened


def signature(path: Path) -> tuple | None:
    """Which version of a file is there (a replaced file is a new file)."""
    return (path.stat().st_ino, path.stat().st_mtime_ns) if path.is_file() else None


def kept(server, stem: str, before: tuple | None) -> None:
    """Wait for the save after a restore: ``stem.png`` replaced (it differs from ``before``), or a copy of it made."""
    final = server.results / 'final_results'

    def saved() -> bool:
        path = final / f'{stem}.png'
        replaced = signature(path) not in (before, None) and path.stat().st_size > 0
        return replaced or any(p.name.startswith(f'{stem} (') for p in final.glob('*'))
    wait_for(saved)


def entries(server, stem: str) -> list[str]:
    """The gallery's entries for a photo called ``stem`` (``stem.png``, ``stem (2).png``, ...)."""
    return sorted(g['name'] for g in server.json('GET', '/api/gallery')
                  if Path(g['name']).stem == stem or Path(g['name']).stem.startswith(f'{stem} ('))


def entry(server, name: str) -> dict:
    return next(g for g in server.json('GET', '/api/gallery') if g['name'] == name)


def files_named(root: Path, stem: str) -> list[str]:
    """Every file of the output folder (outside the trash) named after ``stem``, relative to it."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob(f'{stem}*')
                  if p.is_file() and '.trash' not in p.relative_to(root).parts)


def test_twenty_uploads_of_one_photo_leave_one_entry(server, tmp_path):
    photo = grainy(tmp_path / 'twenty.png', seed=20)
    for _ in range(20):
        before = signature(server.results / 'final_results' / 'twenty.png')
        restore_upload(server, photo, w=0.5)
        kept(server, 'twenty', before)
    assert entries(server, 'twenty') == ['final_results/twenty.png']
    assert files_named(server.results, 'twenty (') == []  # no copy anywhere: faces, thumbnails, inputs


def test_other_settings_or_another_file_make_their_own_entry(server, tmp_path):
    face = write_face(tmp_path / 'sitter.png')
    final = server.results / 'final_results'
    restore_upload(server, face, w=0.5)
    kept(server, 'sitter', None)
    before = signature(final / 'sitter.png')
    restore_upload(server, face, w=0.5)  # the same file and settings: its entry replaced, faces included
    kept(server, 'sitter', before)
    assert entries(server, 'sitter') == ['final_results/sitter.png']
    assert files_named(server.results, 'sitter_') == ['cropped_faces/sitter_00.png', 'restored_faces/sitter_00.png']

    restore_upload(server, face, w=0.9)  # other settings: another result
    wait_for(lambda: signature(final / 'sitter (2).png') and (final / 'sitter (2).png').stat().st_size)
    other = grainy(tmp_path / 'another' / 'sitter.png', seed=3)  # another file by the same name
    restore_upload(server, other, w=0.5)
    wait_for(lambda: signature(final / 'sitter (3).png') and (final / 'sitter (3).png').stat().st_size)
    assert entries(server, 'sitter') == sorted(f'final_results/sitter{tail}.png' for tail in ('', ' (2)', ' (3)'))
    assert 'w: 0.5' in read_texts((final / 'sitter.png').read_bytes())['parameters']
    assert 'w: 0.9' in read_texts((final / 'sitter (2).png').read_bytes())['parameters']
    assert 'faces: none of 0' in read_texts((final / 'sitter (3).png').read_bytes())['parameters']

    # the same file under another name is another entry (a copy renamed on purpose is kept apart)
    restore_upload(server, face, name='renamed.png', w=0.9)
    wait_for(lambda: signature(final / 'renamed.png') and (final / 'renamed.png').stat().st_size)
    assert entries(server, 'renamed') == ['final_results/renamed.png'] and len(entries(server, 'sitter')) == 3


def test_a_photos_new_versions_replace_its_entry_and_its_faces(server, tmp_path):
    face = write_face(tmp_path / 'tried.png')
    opened = restore_upload(server, face, w=0.2)
    kept(server, 'tried', None)
    assert files_named(server.results, 'tried_') == ['cropped_faces/tried_00.png', 'restored_faces/tried_00.png']
    before = signature(server.results / 'final_results' / 'tried.png')
    server.json('POST', f'/api/photos/{opened["id"]}/restore', {'settings': {'w': 0.2}, 'faces': []})
    kept(server, 'tried', before)
    assert entries(server, 'tried') == ['final_results/tried.png']
    assert files_named(server.results, 'tried_') == []  # the face left out is no longer part of the result


def test_thumbnails_are_small_made_once_and_kept_in_step(server, tmp_path):
    photo = grainy(tmp_path / 'thumbed.png', 640, 480, seed=4)
    opened = restore_upload(server, photo, w=0.5)
    kept(server, 'thumbed', None)
    thumb = server.results / '.thumbs' / 'final_results' / 'thumbed.webp'
    assert thumb.is_file()  # written with the result, not when first asked for
    name = quote('final_results/thumbed.png')
    status, headers, data = server.request('GET', f'/api/gallery/thumb?name={name}')
    assert status == 200 and headers['Content-Type'] == 'image/webp' and data == thumb.read_bytes()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image.shape[:2] == (192, 256) and len(data) < 30_000  # the result is 1280x960
    made = signature(thumb)
    server.request('GET', f'/api/gallery/thumb?name={name}')
    assert signature(thumb) == made  # made once, not per request

    before = signature(server.results / 'final_results' / 'thumbed.png')
    server.json('POST', f'/api/photos/{opened["id"]}/restore', {'settings': {'w': 0.9}, 'faces': []})
    kept(server, 'thumbed', before)
    assert signature(thumb) != made  # a new version of the result: a new thumbnail

    # hidden folders are no results, and a name is only looked up in the listing
    assert not [g for g in server.json('GET', '/api/gallery') if g['name'].startswith('.')]
    assert server.request('GET', f'/api/gallery/file?name={quote(".thumbs/final_results/thumbed.webp")}')[0] == 404
    assert server.request('GET', f'/api/gallery/thumb?name={quote("../final_results/thumbed.png")}')[0] == 404

    # a result from before thumbnails gets one when first shown, and keeps it
    write_image(server.results / 'final_results' / 'older.png', grainy_image(300, 600, 5))
    older = server.results / '.thumbs' / 'final_results' / 'older.webp'
    assert not older.exists()
    status, _, data = server.request('GET', f'/api/gallery/thumb?name={quote("final_results/older.png")}')
    assert status == 200 and older.read_bytes() == data
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED).shape[:2] == (256, 128)


def test_the_input_is_kept_for_the_viewers_before(server, tmp_path):
    photo = grainy(tmp_path / 'kept input.png', seed=6)
    restore_upload(server, photo)
    kept(server, 'kept input', None)
    name = quote('final_results/kept input.png')
    assert entry(server, 'final_results/kept input.png')['before'] is True
    status, headers, data = server.request('GET', f'/api/gallery/source?name={name}')
    assert status == 200 and headers['Content-Type'] == 'image/png' and data == photo.read_bytes()
    jpeg = tmp_path / 'kept jpeg.jpg'
    cv2.imwrite(str(jpeg), grainy_image(200, 100, 7))
    restore_upload(server, jpeg)
    kept(server, 'kept jpeg', None)
    status, headers, data = server.request('GET', f'/api/gallery/source?name={quote("final_results/kept jpeg.png")}')
    assert status == 200 and headers['Content-Type'] == 'image/jpeg' and data == jpeg.read_bytes()

    # a batch keeps only its results: no before, a thumbnail all the same
    batch = server.json('POST', '/api/batches')['id']
    server.json('POST', f'/api/batches/{batch}/files?name=batched.png', grainy(tmp_path / 'b.png', seed=8).read_bytes())
    server.wait_job(server.json('POST', f'/api/batches/{batch}/start', {})['id'])
    wait_for(lambda: (server.results / 'final_results' / 'batched.png').is_file())
    assert entry(server, 'final_results/batched.png')['before'] is False
    assert (server.results / '.thumbs' / 'final_results' / 'batched.webp').is_file()
    assert server.request('GET', f'/api/gallery/source?name={quote("final_results/batched.png")}')[0] == 404


def test_delete_moves_an_entry_and_all_its_files_to_the_trash(server, tmp_path):
    face = write_face(tmp_path / 'leaving.png')
    restore_upload(server, face, w=0.4)
    kept(server, 'leaving', None)
    files = ['.sources/leaving.png', '.thumbs/final_results/leaving.webp', 'cropped_faces/leaving_00.png',
             'final_results/leaving.png', 'restored_faces/leaving_00.png']
    assert files_named(server.results, 'leaving') == files
    name = quote('final_results/leaving.png')
    refused = server.request('DELETE', f'/api/gallery/file?name={name}', headers={'Origin': 'http://elsewhere.example'})
    assert refused[0] == 403 and (server.results / 'final_results' / 'leaving.png').is_file()

    moved = server.json('DELETE', f'/api/gallery/file?name={name}')
    trash = server.results / moved['trash']
    assert trash.parent == server.results / '.trash' and moved['name'] == 'final_results/leaving.png'
    assert files_named(server.results, 'leaving') == []
    assert sorted(p.relative_to(trash).as_posix() for p in trash.rglob('*') if p.is_file()) == files
    assert entries(server, 'leaving') == []
    assert server.request('DELETE', f'/api/gallery/file?name={name}')[0] == 404
    for wrong in ('../../etc/passwd', 'cropped_faces/sitter_00.png', '.sources/twenty.png'):
        assert server.request('DELETE', f'/api/gallery/file?name={quote(wrong)}')[0] == 404

    # the same file and settings once more: a new entry; the trashed one stays where it is
    restore_upload(server, face, w=0.4)
    kept(server, 'leaving', None)
    assert entries(server, 'leaving') == ['final_results/leaving.png']
    assert (trash / 'final_results' / 'leaving.png').is_file()


def folder_bytes(root: Path, trash: bool) -> int:
    return sum(p.stat().st_size for p in root.rglob('*')
               if p.is_file() and ('.trash' in p.relative_to(root).parts) == trash)


def test_the_size_is_shown_against_the_disks_free_space(server, tmp_path):
    restore_upload(server, grainy(tmp_path / 'measured.png', seed=9))
    kept(server, 'measured', None)
    usage = server.json('GET', '/api/gallery/usage')
    assert usage['results'] == len(server.json('GET', '/api/gallery'))
    assert usage['bytes'] == folder_bytes(server.results, trash=False)
    assert usage['trash_bytes'] == folder_bytes(server.results, trash=True)
    assert abs(usage['free_bytes'] - shutil.disk_usage(server.results).free) < 256 * 2**20


@pytest.mark.slow  # two servers started
def test_a_restart_keeps_which_file_and_settings_each_entry_is(checkpoint, tmp_path):
    photo = grainy(tmp_path / 'again.png', seed=10)
    first = start_server(checkpoint, tmp_path / 'served')
    try:
        restore_upload(first, photo, w=0.7)
        kept(first, 'again', None)
    finally:
        first.stop()
    second = start_server(checkpoint, tmp_path / 'served')  # the same output folder
    try:
        before = signature(second.results / 'final_results' / 'again.png')
        restore_upload(second, photo, w=0.7)
        kept(second, 'again', before)
        assert entries(second, 'again') == ['final_results/again.png']
    finally:
        second.stop()
