"""Whole photos against the official pipeline's own recordings (tests/data/pipeline): the recorded landmarks, label
maps and restored faces go through ``FaceEnhancer``; the crops it makes and the image it pastes are compared with the
official's.

Finals are compared over the faces' footprints only (everywhere else both are the bilinear background, checked
too), so the PSNR figures are those of the pasted faces, not diluted by an identical background.
"""
import cv2
import numpy as np
import pytest

from codeformer.alignment import LAYOUTS, similarity_transform
from codeformer.enhancer import OFFICIAL, FaceEnhancer, Refinements, working_image
from tests.support.pipeline_golden import (
    CASES,
    META,
    UPSAMPLED,
    CubicX2,
    GivenFaces,
    GivenLabels,
    GivenLandmarks,
    final_samples,
    given_faces,
    inputs,
    official_crops,
    psnr,
    read,
    upsampled_samples,
)

INPUTS = inputs()


def run_case(name: str, refinements: Refinements | None = None, **options):
    """(our final, our crops, the official crops) for one recorded case; ``options`` go to ``FaceEnhancer``."""
    case = CASES[name]
    img = INPUTS[case['input']]
    work, _ = working_image(img[:, :, :3] if img.dtype == np.uint8 else (img >> 8).astype(np.uint8))
    assert list(work.shape) == case['helper_input_shape']
    crops = official_crops(case, work)
    restorer = GivenFaces(given_faces(case, crops))
    use_parse = options.pop('use_parse', case['use_parse'])
    parser = GivenLabels(read(case['labels'])) if use_parse else None
    enhancer = FaceEnhancer(restorer=restorer, upscale=case['upscale'], use_parse=use_parse, parser=parser,
                            detection_model=GivenLandmarks(case['landmarks'], case['layout']),
                            refinements=refinements or Refinements(), **options)
    result = enhancer.enhance_batch([img])[0]
    assert result.restored_img.shape[:2] == tuple(case['final_shape'][:2])
    return result.restored_img, restorer.seen, crops


@pytest.mark.parametrize('name', sorted(CASES))
def test_crops_equal_the_official(name):
    _, ours, theirs = run_case(name)
    assert len(ours) == len(theirs)
    for mine, official in zip(ours, theirs):
        mine = (mine / 257.0) if mine.dtype == np.uint16 else mine
        assert psnr(mine, official) >= 50, name


@pytest.mark.parametrize('name', sorted(CASES))
def test_final_is_the_official_with_our_refinements(name):
    final, _, _ = run_case(name)
    ours, theirs = final_samples(CASES[name], final)
    assert psnr(ours, theirs) >= 45, name


@pytest.mark.parametrize('name', sorted(CASES))
def test_final_is_exactly_the_official_with_refinements_off(name):
    final, _, _ = run_case(name, OFFICIAL)
    ours, theirs = final_samples(CASES[name], final)
    if CASES[name]['input'] == 'u16':  # kept in 16 bits: the official reads the file as 8 bits (value >> 8)
        assert psnr(ours, theirs) >= 50
        return
    diff = np.abs(ours - theirs)
    if CASES[name]['is_gray']:
        # gray faces are pasted as float64, as the official pastes them; OpenCV warps float64 images through
        # coordinates quantized from the output's origin, so warping the face's region instead of the whole frame
        # moves a few pixels on the drawing's sharp edges by a few levels
        assert (diff > 1).mean() < 5e-4 and diff.max() <= 8 and diff.mean() < 0.01, (name, diff.max(), diff.mean())
        return
    assert diff.max() <= 1 and diff.mean() < 0.01, (name, diff.max(), diff.mean())


def test_background_outside_the_faces_is_the_official_bilinear_one():
    case = CASES['composite_s2_noparse']
    final, _, _ = run_case(case['name'])
    covered = np.zeros(final.shape[:2], bool)
    for region in case['regions']:
        x0, y0, x1, y1 = region['box']
        covered[y0:y1, x0:x1] = True
    img = INPUTS['composite']
    background = cv2.resize(img, (img.shape[1] * 2, img.shape[0] * 2), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(final[~covered], background[~covered])


def test_least_median_fit_drops_the_outlier_that_least_squares_follows():
    case = CASES['astro_outlier_s2_ellipse']
    points = np.array(case['landmarks'][0])
    layout = LAYOUTS[case['layout']]
    official = np.array(case['affine_matrices'][0])
    robust = similarity_transform(points, 512, layout)
    plain = similarity_transform(points, 512, layout, robust=False)
    grid = np.stack(np.meshgrid(np.arange(0, 512, 32.0), np.arange(0, 512, 32.0)), -1).reshape(-1, 2)

    def crop_px(matrix):  # where the crop's pixels come from, in the photo
        return grid @ np.linalg.inv(matrix[:, :2]).T

    assert np.abs(crop_px(robust) - crop_px(official)).max() < 0.01
    assert np.abs(crop_px(plain) - crop_px(official)).max() > 1  # in photo px; the recording: 11.66 crop px


def test_small_photo_is_enlarged_to_a_short_side_of_512_first():
    work, f = working_image(INPUTS['small'])
    assert work.shape == (512, 649, 3) and f == pytest.approx(META['small_enlarge_factor'])


def test_alpha_is_kept_and_changes_no_colour():
    """The official drops alpha; ours keeps it (resized with the photo) and the colour is what it is without it."""
    name = 'astro_s2_ellipse'
    plain, _, _ = run_case(name)
    rgba = np.dstack([INPUTS['astro512'], np.full((512, 512), 90, np.uint8)])
    INPUTS['astro512_alpha'] = rgba
    try:
        CASES['alpha'] = dict(CASES[name], input='astro512_alpha', name='alpha')
        with_alpha, _, _ = run_case('alpha')
    finally:
        CASES.pop('alpha')
        INPUTS.pop('astro512_alpha')
    assert with_alpha.shape == (1024, 1024, 4) and (with_alpha[:, :, 3] == 90).all()
    assert np.array_equal(with_alpha[:, :, :3], plain)


def test_output_size_is_known_before_the_work():
    enhancer = FaceEnhancer(restorer=GivenFaces([]), upscale=2, detection_model=GivenLandmarks([], 'retinaface5'))
    assert enhancer.output_size(300, 380) == (1024, 1298)  # the recorded small case at x2
    assert enhancer.output_size(512, 512) == (1024, 1024)
    assert enhancer.output_size(120, 160) == (1024, 1366)


def run_upsampled(case: dict, refinements: Refinements | None = None) -> tuple[np.ndarray, CubicX2]:
    """Our final for a recorded case with upsamplers, and the stand-in upsampler it was given."""
    upsampler = CubicX2()
    final, _, _ = run_case(case['base'], refinements, use_parse=case['use_parse'],
                           bg_upsampler=upsampler if case['bg_upsample'] else None,
                           face_upsample=case['face_upsample'], face_upsampler=upsampler)
    assert list(final.shape) == case['final_shape']
    return final, upsampler


@pytest.mark.parametrize('case', UPSAMPLED, ids=[c['name'] for c in UPSAMPLED])
def test_upsampled_background_and_faces_are_the_officials(case):
    """``--face_upsample`` alone upsamples the faces (the official sets up Real-ESRGAN for them); with the background
    upsampler, both share it; the official's matrix for an upsampled face has no half-pixel offset."""
    final, upsampler = run_upsampled(case)
    base = CASES[case['base']]
    faces = len(base['faces']) if case['face_upsample'] else 0
    assert len(upsampler.calls) == faces + case['bg_upsample']  # each face once, the photo once
    ours, theirs = upsampled_samples(case, final)
    assert psnr(ours, theirs) >= 45, case['name']
    official, _ = run_upsampled(case, OFFICIAL)
    ours, theirs = upsampled_samples(case, official)
    diff = np.abs(ours - theirs)
    assert diff.max() <= 1 and diff.mean() < 0.05, (case["name"], diff.max(), diff.mean())
