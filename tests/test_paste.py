"""Paste-back bounded to each face's region equals the same operations on the full frame."""
import cv2
import numpy as np
import pytest

from codeformer.alignment import compose, invert, scale_map, similarity_transform, template
from codeformer.paste import _blend, parsing_soft_mask, paste_face


def full_frame_paste(canvas, face, matrix, parse_mask=None, erode_px=2):
    """Reference: every step on the whole output image, as the official pipeline does it (rounded at the end)."""
    h, w = canvas.shape[:2]
    warped = cv2.warpAffine(face, matrix, (w, h), flags=cv2.INTER_LINEAR)
    inside = cv2.warpAffine(np.ones(face.shape[:2], np.float32), matrix, (w, h), flags=cv2.INTER_LINEAR)
    inside = cv2.erode(inside, np.ones((erode_px, erode_px), np.uint8))
    edge = int(inside.sum()**0.5) // 20
    pasted = warped * inside[:, :, None]
    center = cv2.erode(inside, np.ones((2 * edge, 2 * edge), np.uint8))
    mask = cv2.GaussianBlur(center, (2 * edge + 1, 2 * edge + 1), 0)
    if parse_mask is not None:
        parse = cv2.warpAffine(cv2.resize(parse_mask, face.shape[1::-1]), matrix, (w, h), flags=cv2.INTER_AREA)
        mask = np.minimum(parse, mask)
    mask = mask[:, :, None]
    out = mask * pasted + (1 - mask) * canvas
    return np.clip(out.round(), 0, 255).astype(canvas.dtype)


def scene(size=(700, 900), seed=0):
    rng = np.random.default_rng(seed)
    canvas = cv2.resize(rng.integers(0, 255, (size[0] // 20, size[1] // 20, 3), dtype=np.uint8), size[::-1])
    face = cv2.resize(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8), (512, 512), interpolation=cv2.INTER_CUBIC)
    return canvas, face


@pytest.mark.parametrize('where,upscale,parse', [((300, 200), 1, False), ((5, 5), 2, False), ((820, 600), 1, True),
                                                 ((400, 300), 3, True)])
def test_bounded_equals_full_frame(where, upscale, parse):
    canvas, face = scene()
    landmarks = template() * 0.25 + where  # a 128 px face, also half outside the image
    to_canvas = compose(scale_map(upscale), invert(similarity_transform(landmarks)))
    big = cv2.resize(canvas, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_LINEAR)
    labels = np.full((512, 512), 1, np.int64)
    labels[:100] = 17  # hair band at the top is not pasted
    mask = parsing_soft_mask(labels) if parse else None
    bounded = big.copy()
    box = paste_face(bounded, face, to_canvas, mask, erode_px=2 * upscale)
    reference = full_frame_paste(big, face, to_canvas, mask, erode_px=2 * upscale)
    assert np.abs(bounded.astype(int) - reference.astype(int)).max() <= 1
    x0, y0, x1, y1 = box
    outside = np.ones(big.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert (bounded[outside] == big[outside]).all()
    assert (bounded != big).any()


@pytest.mark.parametrize('canvas_dtype', [np.uint8, np.uint16])
@pytest.mark.parametrize('mask_dtype', [np.float32, np.float64])  # float64: with a parsing mask
@pytest.mark.parametrize('face_dtype', ['canvas', np.float64])  # float64: a face fitted to a gray photo
@pytest.mark.parametrize('channels', [3, 1])
def test_the_blend_is_numpys_to_the_bit(canvas_dtype, mask_dtype, face_dtype, channels):
    rng = np.random.default_rng(7)
    top = np.iinfo(canvas_dtype).max
    shape = (37, 53, 3) if channels == 3 else (37, 53)
    region = rng.integers(0, top, shape, dtype=canvas_dtype, endpoint=True)
    face = rng.integers(0, top, shape, dtype=canvas_dtype, endpoint=True)
    face = face if face_dtype == 'canvas' else face * rng.uniform(0.9, 1.1, shape)
    inside = rng.uniform(0, 1, shape[:2]).astype(np.float32)
    inside[:5] = 0
    inside[-5:] = 1
    mask = rng.uniform(0, 1, shape[:2]).astype(mask_dtype)
    inside_n, mask_n = (inside[:, :, None], mask[:, :, None]) if channels == 3 else (inside, mask)
    expected = mask_n * (inside_n * face) + (1 - mask_n) * region
    got = _blend(mask, inside, face, region)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert np.array_equal(got, expected)


def test_a_face_outside_the_canvas_changes_nothing():
    canvas, face = scene((100, 100))
    matrix = invert(similarity_transform(template() * 0.1 + 5000))
    before = canvas.copy()
    assert paste_face(canvas, face, matrix) is None
    assert (canvas == before).all()


def test_parsing_mask_keeps_skin_and_drops_hair_and_background():
    labels = np.zeros((512, 512), np.int64)
    labels[150:450, 150:350] = 1  # skin
    labels[:120] = 17  # hair
    mask = parsing_soft_mask(labels)
    assert mask[300, 250] > 0.99 and mask[50, 250] < 0.01 and mask[300, 30] < 0.01
    assert 0.05 < mask[300, 150] < 0.95  # soft edge
    assert mask[:10].max() == 0
