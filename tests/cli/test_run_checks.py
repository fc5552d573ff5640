"""What is checked before any work, through the real command line: results never replace inputs, a bad output
folder or report path stops the run at once with exit code 2, and every input gets its own result."""
import json

import cv2
import pytest

from codeformer.utils.image_io import read_image, write_image
from tests.support.cli import ROOT, run_script

FACE = ROOT / 'inputs' / 'cropped_faces' / 'astronaut.png'
UNWRITABLE = '/proc/codeformer-test'  # not even root can create anything there


def faces(folder, names):
    face = cv2.resize(cv2.imread(str(FACE)), (64, 64), interpolation=cv2.INTER_AREA)
    for name in names:
        write_image(folder / name, face)
    return {name: (folder / name).read_bytes() for name in names}


def only_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and 'Traceback' not in stderr, stderr
    return lines[0]


@pytest.mark.parametrize('script', ['inference_colorization.py', 'inference_inpainting.py'])
def test_results_never_replace_the_inputs(tmp_path, checkpoint, script):
    before = faces(tmp_path / 'mine', ['a.png', 'b.png'])
    proc = run_script(script, '-i', 'mine', '-o', 'mine', '--model_path', str(checkpoint), cwd=tmp_path)
    assert proc.returncode == 2
    assert 'would replace the input' in only_line(proc.stderr) and 'a.png' in proc.stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / 'mine').iterdir()} == before


def test_restored_faces_of_an_earlier_run_are_not_replaced(tmp_path, checkpoint):
    before = faces(tmp_path / 'res' / 'restored_faces', ['a.png'])
    proc = run_script('inference_codeformer.py', '--has_aligned', '-i', 'res/restored_faces', '-o', 'res',
                      '--model_path', str(checkpoint), cwd=tmp_path)
    assert proc.returncode == 2 and 'would replace the input' in only_line(proc.stderr)
    report = run_script('inference_codeformer.py', '--has_aligned', '-i', 'res/restored_faces', '-o', 'out',
                        '--report', 'res/restored_faces/a.png', '--model_path', str(checkpoint), cwd=tmp_path)
    assert report.returncode == 2 and 'report would replace the input' in only_line(report.stderr)
    assert (tmp_path / 'res' / 'restored_faces' / 'a.png').read_bytes() == before['a.png']
    assert not (tmp_path / 'out').exists()


@pytest.mark.slow  # five runs of the script
def test_a_bad_output_folder_or_report_stops_before_any_work(tmp_path):
    """Checked before the networks load: here the weights are missing too, and the output is what is named."""
    faces(tmp_path / 'in', ['a.png'])
    (tmp_path / 'taken').write_text('a file')
    (tmp_path / 'folder.json').mkdir()
    env = {'CODEFORMER_WEIGHTS_DIR': str(tmp_path / 'no-weights')}
    cases = [(['-o', 'taken'], 'the output folder is a file'),
             (['-o', 'taken/sub'], 'taken is not a folder'),
             (['-o', UNWRITABLE], 'cannot write the output folder there'),
             (['-o', 'out', '--report', 'folder.json'], 'the report is a folder'),
             (['-o', 'out', '--report', f'{UNWRITABLE}/r.json'], 'cannot write the folder of the report')]
    for args, message in cases:
        proc = run_script('inference_codeformer.py', '--has_aligned', '-i', 'in', *args, cwd=tmp_path, env=env)
        assert proc.returncode == 2, (args, proc.stderr)
        line = only_line(proc.stderr)
        assert line.startswith('error: ') and message in line, (args, line)
    assert not (tmp_path / 'out').exists() and not (tmp_path / 'results').exists()


def test_every_input_gets_its_own_result(tmp_path, checkpoint):
    faces(tmp_path / 'in', ['dup.png', 'dup.jpg', 'dup_png.bmp', 'Case.png', 'case.webp'])
    proc = run_script('inference_codeformer.py', '--has_aligned', '-i', 'in', '-o', 'out', '--model_path',
                      str(checkpoint), '--report', 'r.json', cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert '5 done, 0 failed' in proc.stderr
    report = json.loads((tmp_path / 'r.json').read_text())
    outputs = [r['outputs'][0] for r in report]
    assert len(outputs) == 5 and len({o.lower() for o in outputs}) == 5
    assert sorted(p.name for p in (tmp_path / 'out' / 'restored_faces').iterdir()) == [
        'Case_png.png', 'case_webp.png', 'dup_jpg.png', 'dup_png.png', 'dup_png_2.png']


def test_file_names_are_escaped_and_what_is_passed_over_is_counted(tmp_path, checkpoint):
    src = tmp_path / 'in'
    faces(src, ['good.png'])
    (src / 'bad\nname.png').write_bytes(b'\x89PNG\r\n\x1a\n' + bytes(40))  # a newline in the name, corrupt
    (src / 'bell\x07.png').write_bytes(b'')
    (src / 'sub').mkdir()
    (src / 'anim.gif').write_bytes(b'GIF89a' + bytes(20))
    (src / 'gone.png').symlink_to(tmp_path / 'nowhere.png')
    (src / 'loop.png').symlink_to(src / 'loop.png')
    proc = run_script('inference_codeformer.py', '--has_aligned', '-i', 'in', '-o', 'out', '--model_path',
                      str(checkpoint), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.split('\n')
    errors = [line for line in lines if line.startswith('error:')]
    assert len(errors) == 2 and '\x07' not in proc.stderr
    assert any('bad\\nname.png' in e and 'decode' in e for e in errors)
    assert any('bell\\x07.png' in e and 'empty' in e for e in errors)
    assert not any(line.startswith('name.png') for line in lines)
    summary = [line for line in lines if 'passed over' in line]
    assert summary and '1 done, 2 failed; passed over: 2 broken links, 1 file of another type, 1 sub-folder' in \
        summary[0]
    assert read_image(tmp_path / 'out' / 'restored_faces' / 'good.png').shape == (64, 64, 3)


def test_a_report_that_cannot_be_written_at_the_end_is_one_line(tmp_path, checkpoint):
    """The report's folder is checked first; if it is taken away during the run, the end is one line, exit 1."""
    faces(tmp_path / 'in', ['a.png'])
    proc = run_script('inference_codeformer.py', '--has_aligned', '-i', 'in', '-o', 'out', '--model_path',
                      str(checkpoint), '--report', 'out/restored_faces/a.png/r.json', cwd=tmp_path)
    # out/restored_faces/a.png is created by the run itself, as a file: the report's folder becomes a file
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr, proc.stderr
    (error, ) = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert 'r.json: cannot write the report' in error
    assert (tmp_path / 'out' / 'restored_faces' / 'a.png').is_file()
