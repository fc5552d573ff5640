"""The page's saved results and the batch tool's come from one writer (``codeformer.outputs``): for the same photo
and settings, every file of the page's output folder is the batch tool's, byte for byte (the final PNG with the
page's parameters chunk as its only addition), in 8 and in 16 bits."""
from urllib.parse import quote

import numpy as np
import pytest

from codeformer.utils.image_io import read_image, write_image
from codeformer.utils.pngtext import read_texts, without_text
from tests.serve.test_app import wait_for
from tests.support.cli import run_script
from tests.support.serve import SERVE_OPTIONS, two_faces


@pytest.mark.slow  # several seconds: CI runs it, make test-fast leaves it
@pytest.mark.parametrize('bits', [8, 16])
def test_the_pages_saved_files_are_the_batch_tools(server, checkpoint, tmp_path, bits):
    photo = two_faces() if bits == 8 else two_faces().astype(np.uint16) * 257 + 128
    path = tmp_path / f'one writer {bits}.png'
    write_image(path, photo)
    opened = server.json('POST', f'/api/photos?name={quote(path.name)}&detector=mtcnn', path.read_bytes())
    assert len(opened['faces']) == 2
    server.json('POST', f'/api/photos/{opened["id"]}/restore', {'settings': {'w': 0.3}, 'faces': [0, 1]})
    names = [f'final_results/{path.stem}.png'] + [f'{folder}/{path.stem}_{k:02d}.png'
                                                  for folder in ('cropped_faces', 'restored_faces') for k in (0, 1)]
    wait_for(lambda: all((server.results / name).is_file() for name in names))

    out = tmp_path / 'cli'
    proc = run_script('-m codeformer', '-w', '0.3', '-s', '2', '-i', str(path), '-o', str(out), '--model_path',
                      str(checkpoint), *SERVE_OPTIONS, '-q', env={'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 0, proc.stderr
    for name in names:
        page, cli = (server.results / name).read_bytes(), (out / name).read_bytes()
        if name.startswith('final_results'):
            assert 'w: 0.3' in read_texts(page)['parameters'] and not read_texts(cli)
            page = without_text(page)
        assert page == cli, name
    assert read_image(out / names[0]).dtype == (np.uint8 if bits == 8 else np.uint16)
