"""The batch core called in-process, as a front end calls it: ``run(RunOptions)`` and ``run_crops`` return what
happened (records, what was passed over, the report) and say nothing themselves; the front end's ``say`` hears each
error as it happens, and ``exits.end_run`` turns the outcome into the exit code."""
import json

import cv2
import numpy as np

from codeformer.batch.crops import run_crops
from codeformer.batch.exits import EXIT_OK, EXIT_SOME_FAILED, end_run
from codeformer.batch.options import NetworkSettings, OutputSettings, PipelineSettings, RunOptions
from codeformer.batch.run import run
from codeformer.utils.image_io import read_image, write_image
from tests.support.cli import ROOT

FACE = ROOT / 'inputs' / 'cropped_faces' / 'astronaut.png'


def folder(tmp_path):
    src = tmp_path / 'in'
    face = cv2.resize(cv2.imread(str(FACE)), (64, 64), interpolation=cv2.INTER_AREA)
    write_image(src / 'a.png', face)
    write_image(src / 'b.png', face.astype(np.uint16) * 257)
    (src / 'broken.jpg').write_bytes(b'\xff\xd8\xff\xe0garbage')
    (src / 'notes.txt').write_text('not an image')
    (src / 'sub').mkdir()
    return src


def test_a_run_returns_its_records_and_says_only_through_the_front_ends_say(tmp_path, checkpoint, capsys):
    said = []
    options = RunOptions('restore', NetworkSettings(w=0.7, model_path=str(checkpoint), device='cpu'),
                         PipelineSettings(aligned=True),
                         output=OutputSettings(str(folder(tmp_path)), str(tmp_path / 'out'),
                                               report=str(tmp_path / 'report.json')), quiet=True)
    outcome = run(options, say=lambda kind, message: said.append((kind, message)))
    status = {r.input.rsplit('/', 1)[-1]: r.status for r in outcome.records}
    assert status == {'a.png': 'done', 'b.png': 'done', 'broken.jpg': 'failed'}
    assert outcome.failed and outcome.interrupted is None and outcome.report_error is None
    assert len(said) == 1 and said[0][0] == 'error' and 'broken.jpg' in said[0][1]
    assert dict(outcome.log.passed_over) == {'file of another type': 1, 'sub-folder': 1}
    assert '2 done, 1 failed; passed over: 1 file of another type, 1 sub-folder' in outcome.log.summary()
    assert read_image(tmp_path / 'out' / 'restored_faces' / 'b.png').dtype == np.uint16
    report = json.loads((tmp_path / 'report.json').read_text())
    assert [r['status'] for r in report] == ['done', 'done', 'failed']
    assert end_run(outcome, quiet=True) == EXIT_SOME_FAILED
    assert capsys.readouterr() == ('', '')  # the core printed nothing; end_run, quiet, only decided


def test_a_run_with_nothing_to_say_is_silent_and_exits_0(tmp_path, checkpoint, capsys):
    src = tmp_path / 'one'
    write_image(src / 'a.png', cv2.resize(cv2.imread(str(FACE)), (64, 64)))
    outcome = run(RunOptions('restore', NetworkSettings(model_path=str(checkpoint), device='cpu'),
                             PipelineSettings(aligned=True), output=OutputSettings(str(src), str(tmp_path / 'out')),
                             quiet=True))
    assert [r.status for r in outcome.records] == ['done'] and not outcome.failed
    assert end_run(outcome, quiet=True) == EXIT_OK and capsys.readouterr() == ('', '')


def test_crops_in_process(tmp_path):
    photo = tmp_path / 'photos'
    write_image(photo / 'astronaut.png', cv2.imread(str(ROOT / 'inputs' / 'whole_imgs' / 'astronaut.jpg')))
    said = []
    outcome = run_crops(str(photo), str(tmp_path / 'crops'), 'mtcnn', 'cpu', size=128, quiet=True,
                        say=lambda kind, message: said.append(kind))
    [record] = outcome.records
    assert record.status == 'done' and record.info['faces'] >= 1 and not said
    assert all(p.endswith(('.png', '.json')) for p in record.outputs)
    assert read_image(record.outputs[0]).shape == (128, 128, 3)
