"""--ray on a real Ray cluster of two nodes on this machine (127.0.0.1), driven by the real command line in a
subprocess, on real image files: the same outputs and report as a local run, both nodes at work, a bad file costs
only itself, and an actor killed mid-run costs nothing."""
import json
import os
import signal
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from codeformer.utils.image_io import read_image, write_image
from tests.support.cli import ROOT, run_script, start_script

pytestmark = pytest.mark.slow  # starts Ray clusters

FACE = ROOT / 'inputs' / 'cropped_faces' / 'astronaut.png'
NODE = dict(num_cpus=1, object_store_memory=80 * 1024 * 1024)


@pytest.fixture(scope='module')
def cluster():
    """A head and a second node, one CPU each (so each holds one actor); shut down whatever happens. Their workers
    run PyTorch on one thread, as the local runs compared with them do (the sums of a convolution, and so the last
    bit of a result, depend on the thread count)."""
    pytest.importorskip('ray.data', reason='Ray is an optional extra: pip install codeformer[ray]')
    from ray.cluster_utils import Cluster
    threads = os.environ.get('OMP_NUM_THREADS')
    os.environ['OMP_NUM_THREADS'] = '1'  # the nodes' processes inherit it
    try:
        cluster = Cluster(initialize_head=True, head_node_args={**NODE, 'include_dashboard': False})
        cluster.add_node(**NODE)
    finally:
        if threads is None:
            del os.environ['OMP_NUM_THREADS']
        else:
            os.environ['OMP_NUM_THREADS'] = threads
    try:
        cluster.wait_for_nodes()
        yield cluster
    finally:
        cluster.shutdown()
        deadline = time.monotonic() + 30  # the actors' processes end a moment after their nodes
        while _actor_pids() and time.monotonic() < deadline:
            time.sleep(0.2)


def faces(folder: Path, count: int) -> None:
    face = cv2.imread(str(FACE))
    for k in range(count):
        write_image(folder / f'face{k:02d}.png', np.roll(face, 8 * k, axis=0))


def restore(checkpoint, src, out, *extra, start=False):
    args = ('restore', '-w', '0.5', '--has_aligned', '-i', str(src), '-o', str(out), '--model_path',
            str(checkpoint), '--device', 'cpu', '-q', *extra)
    return (start_script if start else run_script)('-m codeformer', *args, env={'OMP_NUM_THREADS': '1'})


def files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob('*')) if p.is_file()}


def comparable(records: list[dict], out: Path) -> list[dict]:
    """A report without what differs between two runs of the same work: times, the node, the output folder."""
    return [{**{k: v for k, v in r.items() if k not in ('seconds', 'node', 'outputs', 'info')},
             'outputs': [str(Path(o).relative_to(out)) for o in r.get('outputs', [])],
             'faces': r.get('info', {}).get('faces')} for r in records]


def test_without_ray_the_flag_says_how_to_install_it(tmp_path, checkpoint):
    stub = tmp_path / 'stub' / 'ray'  # an environment where `import ray` fails, as it does before the extra
    stub.mkdir(parents=True)
    (stub / '__init__.py').write_text("raise ImportError(\"No module named 'ray'\")\n")
    faces(tmp_path / 'faces', 1)
    proc = run_script('-m codeformer', 'restore', '--has_aligned', '-i', str(tmp_path / 'faces'), '-o',
                      str(tmp_path / 'out'), '--model_path', str(checkpoint), '--ray',
                      env={'PYTHONPATH': f'{tmp_path / "stub"}{os.pathsep}{ROOT}'})
    assert proc.returncode == 2
    assert [line for line in proc.stderr.splitlines() if line] == \
        ["error: --ray needs Ray Data, which is not installed (No module named 'ray'): pip install codeformer[ray]"]
    assert not (tmp_path / 'out').exists()


def test_two_nodes_give_the_local_run_byte_for_byte(tmp_path, cluster, checkpoint):
    src = tmp_path / 'faces'
    faces(src, 6)
    face = cv2.imread(str(FACE))
    write_image(src / 'deep_alpha.png', np.dstack([face, np.full(face.shape[:2], 200, np.uint8)]).astype(np.uint16)
                * 257)
    (src / 'broken.jpg').write_bytes(b'\xff\xd8\xff\xe0garbage')
    local = restore(checkpoint, src, tmp_path / 'local', '--report', str(tmp_path / 'local.json'), '--batch_size', '2')
    on_ray = restore(checkpoint, src, tmp_path / 'ray', '--report', str(tmp_path / 'ray.json'), '--batch_size', '2',
                     '--ray', cluster.address)
    assert local.returncode == on_ray.returncode == 1, on_ray.stderr
    errors = [line for line in on_ray.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 1 and 'broken.jpg' in errors[0] and 'cannot decode' in errors[0]
    assert files(tmp_path / 'ray') == files(tmp_path / 'local') and len(files(tmp_path / 'local')) == 7
    deep = read_image(tmp_path / 'ray' / 'restored_faces' / 'deep_alpha.png')
    assert deep.dtype == np.uint16 and deep.shape[2] == 4
    report = json.loads((tmp_path / 'ray.json').read_text())
    assert comparable(report, tmp_path / 'ray') == comparable(json.loads((tmp_path / 'local.json').read_text()),
                                                              tmp_path / 'local')
    assert [r for r in report if 'broken.jpg' in r['input']][0]['error'] == errors[0][len('error: '):]
    nodes = {node['NodeID'] for node in _nodes(cluster)}
    assert {r['node'] for r in report} == nodes and len(nodes) == 2  # both nodes did work


def _nodes(cluster) -> list[dict]:
    import ray
    ray.init(address=cluster.address, include_dashboard=False, logging_level='error')
    try:
        return [n for n in ray.nodes() if n['Alive']]
    finally:
        ray.shutdown()


def _actor_pids() -> list[int]:
    """The processes of our actors, by the title Ray gives them."""
    pids = []
    for entry in Path('/proc').iterdir():
        try:
            if entry.name.isdigit() and b'RestoreActor' in (entry / 'cmdline').read_bytes():
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def test_an_actor_killed_mid_run_costs_no_file(tmp_path, cluster, checkpoint):
    src, out = tmp_path / 'faces', tmp_path / 'out'
    faces(src, 24)
    proc = restore(checkpoint, src, out, '--report', str(tmp_path / 'report.json'), '--ray', cluster.address,
                   start=True)
    deadline = time.monotonic() + 120
    while not (out / 'restored_faces').is_dir() or not any((out / 'restored_faces').glob('*.png')):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    victim = _actor_pids()[0]
    os.kill(victim, signal.SIGKILL)
    done_at_kill = len(list((out / 'restored_faces').glob('*.png')))
    code = proc.wait(timeout=180)
    stderr = proc.communicate()[1]
    assert done_at_kill < 24  # killed mid-run, not after
    assert code == 0, stderr
    assert sorted(p.name for p in (out / 'restored_faces').iterdir()) == [f'face{k:02d}.png' for k in range(24)]
    report = json.loads((tmp_path / 'report.json').read_text())
    assert len(report) == 24 and not any(r.get('error') for r in report)
    assert victim not in _actor_pids()
