"""The gray tests, computed by OpenCV in one pass, against the NumPy formulations they replace
(``tests.support.reference``): the same decision on every photo of a corpus, near the threshold included."""
import cv2
import numpy as np
import pytest

from codeformer.gray import channel_stats, looks_gray
from codeformer.utils.image_io import is_gray
from tests.support.pipeline_golden import inputs
from tests.support.reference import numpy_is_gray, official_looks_gray


def corpus() -> dict[str, np.ndarray]:
    """Real photos in colour, gray, toned and 16 bit, and made ones whose channels differ by noise of a variance just
    under, at and just over the official threshold (10 levels squared)."""
    from benchmarks.bench_detectors import grace_hopper
    photos = {**{k: v for k, v in inputs().items()}, 'grace hopper': grace_hopper()}
    gray = cv2.cvtColor(cv2.cvtColor(photos['astro512'], cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    photos['sepia'] = (gray // 2 + np.array([50, 70, 95], np.uint8)).astype(np.uint8)  # toned: a constant apart
    rng = np.random.default_rng(0)
    base = rng.integers(30, 220, (240, 320), dtype=np.uint8).astype(np.int16)
    for sigma in (2.15, 2.2, 2.236, 2.25, 2.3, 2.6):  # per-channel noise: the difference's variance is 2 sigma^2
        noisy = np.dstack([base + np.round(rng.normal(0, sigma, base.shape)) for _ in range(3)])
        photos[f'noise {sigma}'] = np.clip(noisy, 0, 255).astype(np.uint8)
    photos['16 bit noise'] = photos['noise 2.236'].astype(np.uint16) * 257 + rng.integers(0, 257, (240, 320, 3),
                                                                                            dtype=np.uint16)
    photos['with alpha'] = np.dstack([photos['grace hopper'], np.full(photos['grace hopper'].shape[:2], 9, np.uint8)])
    photos['a view'] = photos['astro512'][::2, 1::3]
    return photos


CORPUS = corpus()


@pytest.mark.parametrize('name', sorted(CORPUS))
def test_looks_gray_decides_as_the_official_computes_it(name):
    img = CORPUS[name]
    assert looks_gray(img) == official_looks_gray(img)
    channels = [img[:, :, c].astype(np.float64) for c in range(3)]
    spread = sum((channels[a] - channels[b]).var() for a, b in ((0, 1), (1, 2), (2, 0))) / 3
    assert channel_stats(img).spread == pytest.approx(spread, rel=1e-9, abs=1e-6)


def test_the_corpus_reaches_both_sides_of_the_threshold():
    decisions = {official_looks_gray(img) for name, img in CORPUS.items() if name.startswith('noise')}
    assert decisions == {True, False}
    assert looks_gray(CORPUS['gray']) and looks_gray(CORPUS['sepia']) and not looks_gray(CORPUS['astro512'])


@pytest.mark.parametrize('name', sorted(CORPUS))
def test_is_gray_decides_as_numpy_did(name):
    img = CORPUS[name]
    assert is_gray(img) == numpy_is_gray(img)
    bgr = img[:, :, :3].astype(np.int64)
    expected = [np.abs(bgr[:, :, a] - bgr[:, :, b]).mean() for a, b in ((0, 1), (1, 2), (2, 0))]
    assert channel_stats(img).mean_abs == pytest.approx(expected, rel=1e-12)
