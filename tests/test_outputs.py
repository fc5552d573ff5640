"""The one writer of results: the official layout's names, each file whole, refusals before anything is written."""
import json

import numpy as np
import pytest

from codeformer.outputs import ResultRefused, official_layout, write_results
from codeformer.utils.image_io import read_image
from codeformer.utils.pngtext import read_texts


def test_the_official_layout_names():
    crop, face, final = (np.zeros((4, 4, 3), np.uint8),) * 3
    assert list(official_layout(final, [(0, crop, face), (3, crop, face)], '_x')) == [
        'cropped_faces/{name}_00.png', 'restored_faces/{name}_00_x.png', 'cropped_faces/{name}_03.png',
        'restored_faces/{name}_03_x.png', 'final_results/{name}_x.png']
    assert list(official_layout(None, [(1, crop, face)])) == ['cropped_faces/{name}_01.png',
                                                             'restored_faces/{name}_01.png']


def test_images_in_8_and_16_bit_bytes_and_json_and_texts_only_in_the_final_result(tmp_path):
    deep = np.arange(48, dtype=np.uint16).reshape(4, 4, 3) * 1000
    files = {'final_results/{name}.png': deep, 'restored_faces/{name}_00.png': deep[:, :, 0].astype(np.uint8),
             'raw/{name}.bin': b'\x00bytes', 'meta/{name}.json': {'a': 1}}
    written = write_results(tmp_path, 'photo', files, texts={'parameters': 'w: 0.5'})
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [
        'final_results/photo.png', 'restored_faces/photo_00.png', 'raw/photo.bin', 'meta/photo.json']
    assert (read_image(written[0]) == deep).all() and read_image(written[0]).dtype == np.uint16
    assert read_texts(written[0].read_bytes()) == {'parameters': 'w: 0.5'}
    assert read_texts(written[1].read_bytes()) == {}
    assert written[2].read_bytes() == b'\x00bytes' and json.loads(written[3].read_text()) == {'a': 1}
    assert not list(tmp_path.rglob('*.tmp'))


def test_a_refused_path_stops_before_its_file_is_written(tmp_path):
    img = np.zeros((4, 4), np.uint8)
    files = {'a/{name}.png': img, 'b/{name}.png': img}
    with pytest.raises(ResultRefused, match='is one of the inputs'):
        write_results(tmp_path, 'x', files, claim=lambda p: 'is one of the inputs' if p.parent.name == 'b' else None)
    assert (tmp_path / 'a' / 'x.png').is_file() and not (tmp_path / 'b').exists()
