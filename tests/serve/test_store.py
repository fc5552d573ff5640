"""Names from requests, the private folder and uploaded zips."""
import io
import zipfile

import pytest

from codeformer.serve.store import RequestError, Storage, child, extract_zip, free_name, is_token, safe_name


@pytest.mark.parametrize('raw, name', [
    ('photo.png', 'photo.png'),
    ('../../etc/passwd', 'passwd'),
    ('C:\\Users\\me\\Bild 1.JPG', 'Bild 1.JPG'),
    ('..', 'upload'),
    ('.bashrc', 'bashrc'),
    ('a\nb\x1b.png', 'ab.png'),
    ('', 'upload'),
    (None, 'upload'),
    ('x' * 300 + '.png', 'x' * 116 + '.png'),
    ('für Oma 👵.jpg', 'für Oma 👵.jpg'),
])
def test_safe_name_is_one_plain_component(raw, name):
    assert safe_name(raw) == name


def test_child_refuses_anything_but_a_plain_name(tmp_path):
    assert child(tmp_path, 'a.png') == tmp_path / 'a.png'
    for bad in ('..', '.', '', 'a/b', '/etc'):
        with pytest.raises(RequestError):
            child(tmp_path, bad)


def test_free_name_numbers_a_taken_name(tmp_path):
    (tmp_path / 'a.png').write_bytes(b'x')
    assert free_name(tmp_path, 'a.png').name == 'a (2).png'


def test_tokens_and_the_private_folder(tmp_path):
    storage = Storage(tmp_path)
    token, folder = storage.new_folder('photos')
    assert is_token(token) and not is_token('../' + token[3:]) and not is_token(token.upper())
    assert folder.parent.parent == storage.root and (storage.root.stat().st_mode & 0o777) == 0o700
    storage.close()
    assert not storage.root.exists()


def make_zip(path, members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    path.write_bytes(buf.getvalue())
    return path


def test_zip_members_land_flat_in_the_folder(tmp_path):
    archive = make_zip(tmp_path / 'in.zip', {'../../up.png': b'1', 'd/a.png': b'2', 'e/a.png': b'3',
                                             '__MACOSX/._a.png': b'x', '.git/config': b'x', '/abs.png': b'4'})
    out = tmp_path / 'out'
    out.mkdir()
    files = extract_zip(archive, out, 1000)
    assert [p.name for p in files] == ['up.png', 'a.png', 'a (2).png', 'abs.png']
    assert all(p.parent == out for p in files) and (out / 'a (2).png').read_bytes() == b'3'


def test_zip_bomb_is_refused_by_the_bytes_really_read(tmp_path):
    archive = make_zip(tmp_path / 'bomb.zip', {'zeros.png': bytes(5_000_000)})
    assert archive.stat().st_size < 50_000
    out = tmp_path / 'out'
    out.mkdir()
    with pytest.raises(RequestError, match='bomb.zip: the zip unpacks to more than the upload limit of 1 MB'):
        extract_zip(archive, out, 1_000_000)
    (tmp_path / 'bad.zip').write_bytes(b'PK\x03\x04 not a zip')
    with pytest.raises(RequestError, match='bad.zip: cannot read the zip'):
        extract_zip(tmp_path / 'bad.zip', out, 1000)
