"""The gray tests, computed by OpenCV in one pass, against the NumPy formulations they replace
(``tests.support.reference``): the same decision on every photo of a corpus, near the threshold included."""
import cv2
import numpy as np
import pytest

from codeformer.gray import channel_stats, decisive_stats, is_gray, looks_gray
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


def colour_in_some_rows(every: int) -> np.ndarray:
    """Gray but for every ``every``-th row, which is in colour: what a sample of those rows sees is all the colour
    there is, the worst case for bounds taken from them."""
    rng = np.random.default_rng(1)
    img = np.repeat(rng.integers(0, 256, (96, 128, 1), dtype=np.uint8), 3, axis=2)
    img[::every] = rng.integers(0, 256, img[::every].shape, dtype=np.uint8)
    return img


@pytest.mark.parametrize('every', [2, 3, 8, 16])
@pytest.mark.parametrize('name', sorted(CORPUS) + ['colour in sampled rows', 'colour elsewhere'])
def test_sampled_rows_bound_the_whole_images_measures(name, every):
    img = CORPUS.get(name)
    if img is None:
        img = colour_in_some_rows(every)
        img = img if name == 'colour in sampled rows' else img[1:]
    whole, sampled = channel_stats(img), channel_stats(img, every)
    assert not sampled.exact and whole.exact
    assert sampled.spread <= whole.spread * (1 + 1e-12) + 1e-9
    assert all(s <= w * (1 + 1e-12) + 1e-9 for s, w in zip(sampled.mean_abs, whole.mean_abs))
    assert looks_gray(img, stats=sampled) == official_looks_gray(img)
    assert is_gray(img, stats=sampled) == numpy_is_gray(img)


@pytest.mark.parametrize('name', sorted(CORPUS))
def test_decisive_stats_decide_both_tests_as_the_whole_images_measures(name):
    img = CORPUS[name]
    stats = decisive_stats(img)
    assert looks_gray(img, stats=stats) == official_looks_gray(img)
    assert is_gray(img, stats=stats) == numpy_is_gray(img)


def test_a_colour_frame_is_decided_from_an_eighth_of_its_rows_and_a_gray_one_in_full():
    from benchmarks.bench_frames import frames
    frame = frames(1, 1920, 1080)[0]
    assert not decisive_stats(frame).exact
    assert not looks_gray(frame) and not is_gray(frame)
    gray = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    assert decisive_stats(gray).exact and looks_gray(gray) and is_gray(gray)
