"""The job status the page shows: a time-left estimate that counts down while a long step runs."""
import time

from codeformer.serve.worker import WorkerJob


def test_time_left_does_not_climb_while_a_step_runs():
    job = WorkerJob('0123456789abcdef', 'batch', 'ten files', total=10)
    job.state, job.started = 'running', time.monotonic() - 10
    job.done = 2  # 5 s a file so far: 40 s left
    first = job.status()['seconds_left']
    assert 39 <= first <= 40
    time.sleep(0.3)
    later = job.status()['seconds_left']
    assert later < first  # it counts down while the third file is on its way, never up


def test_parsing_masks_are_cached_with_the_restored_faces():
    import numpy as np

    from codeformer.serve.session import MaskCache

    class Parser:
        calls = 0

        def masks(self, faces):
            Parser.calls += len(faces)
            return [np.full((512, 512), float(f.mean())) for f in faces]

    cache = MaskCache(Parser)
    a, b = np.zeros((512, 512, 3), np.uint8), np.ones((512, 512, 3), np.uint8)
    first = cache.masks([a, b])
    assert Parser.calls == 2 and cache.parsed_faces == 2
    again = cache.masks([b, a])  # a visibility change or a face unticked: the same restored faces, no parsing
    assert Parser.calls == 2 and (again[0] == first[1]).all() and (again[1] == first[0]).all()


def test_a_group_of_files_under_way_counts_its_faces_and_gives_an_estimate(tmp_path):
    """Before the first group of files is finished, its faces restored so far move the progress, the face count and
    the time left (the page showed no estimate for the first 43 s of a batch, and counted only files)."""
    from codeformer.serve.batch import Batch, BatchJob
    from codeformer.serve.worker import Worker

    seen = {}
    batch = Batch('b' * 16, tmp_path, [tmp_path / 'a.png', tmp_path / 'b.png', tmp_path / 'c.png', tmp_path / 'd.png'])
    job = BatchJob('0123456789abcdef', batch, settings=None, models=None, batch_size=2, max_pixels=None)
    job.state = 'running'
    worker = Worker()
    try:  # the hooks as WholeImageJob.process calls them: 4 faces in its 2 files, restored in two network batches
        hooks = job._hooks(worker)
        hooks.checkpoint()
        job.started = time.monotonic() - 6  # 6 s on this group so far
        hooks.on_progress(2, 2, 4)
        seen['half'] = job.status()
        hooks.on_progress(2, 4, 4)
        hooks.on_batch(2, 4)
        seen['end'] = job.status()
    finally:
        worker.close()
    half = seen['half']
    assert half['done'] == 0 and half['progress'] == 1.0 and half['faces'] == 2
    assert half['seconds_left'] is not None and 17 <= half['seconds_left'] <= 18  # 6 s an item so far, 3 to go
    assert seen['end']['faces'] == 4 and seen['end']['progress'] == 2.0

