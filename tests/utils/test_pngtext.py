"""Text chunks in PNG files, as Pillow and AUTOMATIC1111 read them."""
import cv2
import numpy as np
from PIL import Image

from codeformer.utils.pngtext import add_text, read_texts, without_text


def test_text_chunk_round_trip_keeps_the_pixels(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, (20, 30, 3), np.uint8)
    png = cv2.imencode('.png', img)[1].tobytes()
    for text in ('w: 0.5, faces: 1, 2 of 2', 'source: für Oma 👵.jpg'):
        tagged = add_text(png, 'parameters', text)
        assert read_texts(tagged) == {'parameters': text}
        assert without_text(tagged) == png
        assert (cv2.imdecode(np.frombuffer(tagged, np.uint8), cv2.IMREAD_UNCHANGED) == img).all()
        (tmp_path / 'a.png').write_bytes(tagged)
        with Image.open(tmp_path / 'a.png') as pil:
            assert pil.text['parameters'] == text  # what A1111's PNG Info tab reads
