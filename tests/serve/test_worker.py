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
