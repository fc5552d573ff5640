"""Inpainting as a library call: what is filled, what is kept, and masks that do not fit."""
from __future__ import annotations

import numpy as np
import pytest

from codeformer.errors import InvalidOption
from codeformer.inpainting import inpaint_faces, painted_mask
from codeformer.restorer import FaceRestorer
from tests.support.nets import small_codeformer


@pytest.fixture(scope='module')
def restorer():
    return FaceRestorer('inpainting', net=small_codeformer(), device='cpu', progress=False)


def test_painted_white_is_filled_the_rest_kept_exactly_in_its_dtype(restorer):
    rng = np.random.default_rng(0)
    face = rng.integers(0, 60000, (64, 64, 3), dtype=np.uint16)
    face[20:30, 10:50] = 65535
    done, = inpaint_faces(restorer, [face])
    assert done.image.dtype == np.uint16 and done.image.shape == (64, 64, 3)
    assert (done.mask == painted_mask(face)).all() and done.mask[20:30, 10:50].all()
    assert (done.image[~done.mask] == face[~done.mask]).all()
    assert (done.image[done.mask] != 65535).any()


def test_a_face_of_another_size_is_resized_and_a_mask_must_fit_it(restorer):
    face = np.full((100, 80, 3), 90, np.uint8)
    mask = np.zeros((100, 80), bool)
    mask[10:20, 10:20] = True
    done, = inpaint_faces(restorer, [face], [mask])
    assert done.image.shape == (64, 64, 3) and done.mask.shape == (64, 64) and 0 < done.mask.sum() < 64 * 64
    with pytest.raises(InvalidOption, match='the mask is 80x99, the image 80x100'):
        inpaint_faces(restorer, [face], [mask[:99]])
    with pytest.raises(InvalidOption, match='2 masks for 1 faces'):
        inpaint_faces(restorer, [face], [mask, mask])
