"""The plug-in registries: detectors, upsamplers and backends by name; plug-ins loaded from outside the package."""
import logging
import sys

import numpy as np
import pytest

from codeformer.backends import BACKENDS
from codeformer.detection import DETECTORS, build_detector
from codeformer.errors import InvalidOption
from codeformer.registry import PLUGINS_VARIABLE, Registry, load_plugins
from codeformer.upsamplers import UPSAMPLERS


def test_the_built_in_plug_ins_and_what_they_say_of_themselves():
    assert list(DETECTORS) == ['retinaface_resnet50', 'retinaface_mobile0.25', 'mtcnn', 'dlib']
    assert not DETECTORS['mtcnn'].downloads and DETECTORS['retinaface_resnet50'].downloads
    assert DETECTORS['dlib'].extra['layout'] == 'dlib5' and DETECTORS['mtcnn'].extra['layout'] == 'retinaface5'
    assert list(UPSAMPLERS) == ['realesrgan'] and UPSAMPLERS['realesrgan'].weights == ('realesrgan_x2plus',)
    assert list(BACKENDS) == ['pytorch', 'onnxruntime']
    assert BACKENDS['pytorch'].extra == {'precisions': True, 'compiles': True, 'picks_codes': True}
    assert not any(BACKENDS['onnxruntime'].extra.values())


def test_an_unknown_name_is_the_librarys_error_with_the_known_ones():
    with pytest.raises(InvalidOption) as info:
        DETECTORS.get_entry('yolo')
    assert (info.value.argument, info.value.value) == ('detection_model', 'yolo')
    assert 'unknown detector; known: retinaface_resnet50, retinaface_mobile0.25, mtcnn, dlib' in str(info.value)
    with pytest.raises(InvalidOption) as info:
        UPSAMPLERS.check('esrgan', 'face_upsampler')
    assert info.value.argument == 'face_upsampler'
    assert 'yolo' not in DETECTORS and DETECTORS.get('yolo') is None


def test_names_are_one_word_and_registering_again_replaces():
    registry = Registry('thing', 'thing')
    for bad in ('', 'two words', 'a,b'):
        with pytest.raises(InvalidOption):
            registry.register(bad, object, 'x')
    registry.register('a', lambda: 1, 'first')
    registry.register('b', lambda: 2, 'second')
    registry.register('a', lambda: 3, 'again')
    assert list(registry) == ['a', 'b'] and registry.build('a') == 3 and registry['a'].help == 'again'
    registry.unregister('a')
    assert list(registry) == ['b'] and len(registry) == 1


@pytest.fixture
def plugin(monkeypatch):
    """The test module's detector, loaded as a user's plug-in is, and unregistered afterwards."""
    monkeypatch.setenv(PLUGINS_VARIABLE, 'tests.support.plugin_detector, tests.support.no_such_module')
    monkeypatch.setattr('codeformer.registry._loaded', set())
    sys.modules.pop('tests.support.plugin_detector', None)
    yield
    DETECTORS.unregister('stand_in_centre')


def test_plug_ins_named_in_the_environment_register_and_a_broken_one_is_a_warning(plugin, caplog):
    with caplog.at_level(logging.WARNING, logger='codeformer'):
        loaded = load_plugins()
    assert loaded == ['tests.support.plugin_detector']
    assert "plug-in tests.support.no_such_module: not loaded (ModuleNotFoundError: No module named" in caplog.text
    assert 'stand_in_centre' in DETECTORS and 'one face' in DETECTORS['stand_in_centre'].help
    faces = build_detector('stand_in_centre').detect(np.zeros((300, 400, 3), np.uint8))
    assert len(faces) == 1 and np.allclose(faces[0].box, [125, 75, 275, 225])
    assert load_plugins() == []  # once each


def test_the_readmes_detector_table_is_the_registrys():
    from tests.support.cli import ROOT
    text = (ROOT / 'README.md').read_text()
    table = text[text.index('### Face detectors (`--detection_model`)'):]
    rows = [line.split(' | ') for line in table.split('\n\n')[1].splitlines()[2:]]
    names = [row[0].strip('| ').split('`')[1] for row in rows]
    assert names == list(DETECTORS)
    for name, row in zip(names, rows):
        assert row[1].startswith('none') != DETECTORS[name].downloads or name == 'dlib', row  # dlib: either
