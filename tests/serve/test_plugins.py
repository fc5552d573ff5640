"""A detector registered from outside the package (``tests/support/plugin_detector.py`` through
``$CODEFORMER_PLUGINS``) is in the page's list of detectors and finds faces there; nothing of the package changed."""
from urllib.parse import quote

from tests.serve.test_app import write_face
from tests.support.serve import start_server

NAME = 'stand_in_centre'  # what the module registers (imported here it would register in this process too)


def test_a_plug_in_detector_is_in_the_pages_list_and_finds_faces(checkpoint, tmp_path, monkeypatch):
    monkeypatch.setenv('CODEFORMER_PLUGINS', 'tests.support.plugin_detector')
    served = start_server(checkpoint, tmp_path / 'plugin')
    try:
        info = served.json('GET', '/api/info')
        assert NAME in info['detectors'] and info['detectors'][:3] == ['retinaface_resnet50', 'retinaface_mobile0.25',
                                                                       'mtcnn']
        assert info['upsamplers'] == ['realesrgan']
        face = write_face(tmp_path / 'face.png')
        photo = served.json('POST', f'/api/photos?name={quote(face.name)}&detector={NAME}', face.read_bytes())
        assert len(photo['faces']) == 1
    finally:
        served.stop()
