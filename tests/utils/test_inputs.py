"""The input walker on folders as users have them."""
import cv2
import numpy as np
import pytest

from codeformer.utils.inputs import InputError, collect_inputs, run_name


def test_folder_finds_images_by_content_any_case(tmp_path):
    img = np.full((8, 8, 3), 100, np.uint8)
    for name, ext in [('a.JPEG', '.jpg'), ('b.webp', '.webp'), ('c.PNG', '.png'), ('d.tif', '.tif'),
                      ('e.bmp', '.bmp'), ('noext', '.png')]:
        (tmp_path / name).write_bytes(cv2.imencode(ext, img)[1].tobytes())
    (tmp_path / 'README.txt').write_text('not an image')
    (tmp_path / '.hidden.png').write_bytes(cv2.imencode('.png', img)[1].tobytes())
    (tmp_path / 'sub').mkdir()
    found = collect_inputs(tmp_path)
    assert [f.path.name for f in found] == ['a.JPEG', 'b.webp', 'c.PNG', 'd.tif', 'e.bmp', 'noext']
    assert all(f.kind == 'image' for f in found)


def test_same_stem_gets_distinct_names(tmp_path):
    img = cv2.imencode('.png', np.zeros((4, 4), np.uint8))[1].tobytes()
    (tmp_path / 'a.png').write_bytes(img)
    (tmp_path / 'a.jpg').write_bytes(img)
    assert sorted(f.name for f in collect_inputs(tmp_path)) == ['a_jpg', 'a_png']


def test_bad_input_paths(tmp_path):
    with pytest.raises(InputError, match='no such file'):
        collect_inputs(tmp_path / 'nope')
    with pytest.raises(InputError, match='holds no'):
        collect_inputs(tmp_path)
    (tmp_path / 'x.txt').write_text('x')
    with pytest.raises(InputError, match='x.txt: not a'):
        collect_inputs(tmp_path / 'x.txt')


def test_run_name(tmp_path):
    assert run_name(str(tmp_path) + '/') == tmp_path.name
    assert run_name(tmp_path / 'photo.jpg') == 'photo'
