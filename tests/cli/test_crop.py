"""The crop command (scripts/crop_align_face.py) on bad output places: one line, no traceback, the rest goes on."""
import cv2
import numpy as np

from codeformer.utils.image_io import write_image
from tests.support.cli import run_script


def photos(folder):
    from skimage import data
    photo = np.ascontiguousarray(data.astronaut()[:, :, ::-1])
    write_image(folder / 'astronaut.jpg', photo)
    write_image(folder / 'second.png', cv2.flip(photo, 1))


def test_an_unusable_output_folder_is_one_line_and_exit_2(tmp_path):
    photos(tmp_path / 'in')
    (tmp_path / 'taken').write_text('a file')
    for out, message in [('taken', 'is a file, not a folder'), ('/proc/codeformer-test', 'cannot write')]:
        proc = run_script('scripts/crop_align_face.py', '-i', str(tmp_path / 'in'), '-o', out, '-q', cwd=tmp_path)
        assert proc.returncode == 2 and 'Traceback' not in proc.stderr, proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith('error: ') and message in lines[0]


def test_a_crop_that_cannot_be_written_costs_only_its_photo(tmp_path):
    photos(tmp_path / 'in')
    out = tmp_path / 'out'
    (out / 'astronaut_00.png').mkdir(parents=True)  # a folder where the first photo's crop should go
    proc = run_script('scripts/crop_align_face.py', '-i', str(tmp_path / 'in'), '-o', str(out), cwd=tmp_path)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr, proc.stderr
    (error, ) = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert 'astronaut.jpg: cannot write its crops' in error
    assert (out / 'second_00.png').is_file() and (out / 'second_00.json').is_file()
    assert '1 done, 1 failed' in proc.stderr


def test_results_never_replace_the_photos(tmp_path):
    photos(tmp_path / 'in')
    write_image(tmp_path / 'in' / 'second_00.png', np.full((300, 300, 3), 100, np.uint8))  # a crop's name
    before = (tmp_path / 'in' / 'second_00.png').read_bytes()
    proc = run_script('scripts/crop_align_face.py', '-i', 'in', '-o', 'in', '-q', cwd=tmp_path)
    assert proc.returncode == 1 and 'second_00.png is one of the inputs: not replaced' in proc.stderr
    assert (tmp_path / 'in' / 'second_00.png').read_bytes() == before
    assert (tmp_path / 'in' / 'astronaut_00.png').is_file()
