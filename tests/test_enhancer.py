"""Whole-image restoration on a real photograph with the detector that needs no download."""
import cv2
import numpy as np
import pytest

from codeformer.alignment import compose, invert, scale_map, similarity_transform, template
from codeformer.enhancer import FaceEnhancer
from codeformer.restorer import FaceRestorer
from tests.support.nets import small_codeformer


@pytest.fixture(scope='module')
def photo():
    from skimage import data
    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])


@pytest.fixture(scope='module')
def restorer():
    return FaceRestorer('restoration', w=0.5, net=small_codeformer(), device='cpu')


def face_region(landmarks, upscale, shape):
    """Output pixels the pasted 512 face square can reach (plus the feather margin)."""
    to_out = compose(scale_map(upscale), invert(similarity_transform(landmarks)))
    corners = np.array([[0, 0, 1], [511, 0, 1], [0, 511, 1], [511, 511, 1]]) @ to_out.T
    inside = np.zeros(shape[:2], bool)
    x0, y0 = np.maximum(corners.min(0).astype(int) - 3, 0)
    x1, y1 = corners.max(0).astype(int) + 4
    inside[y0:y1, x0:x1] = True
    return inside


def test_upscale_1_changes_only_the_face(photo, restorer):
    enhancer = FaceEnhancer(restorer, upscale=1, detection_model='mtcnn', use_parse=False)
    cropped, restored, final = enhancer.enhance(photo)
    assert len(cropped) == len(restored) == 1 and final.shape == photo.shape
    faces = enhancer.detect(photo)
    inside = face_region(faces[0].landmarks, 1, photo.shape)
    assert (final[~inside] == photo[~inside]).all()
    assert (final[inside] != photo[inside]).any(axis=1).mean() > 0.2


def test_landmarks_land_on_the_template_in_the_crop(photo, restorer):
    enhancer = FaceEnhancer(restorer, upscale=1, detection_model='mtcnn', use_parse=False)
    cropped, _, _ = enhancer.enhance(photo)
    again = enhancer.detect(cropped[0])
    assert len(again) == 1
    err = np.linalg.norm(again[0].landmarks - template(), axis=1)
    assert err.max() < 20, err  # pixels of a 512 crop


def test_upscale_alpha_gray_and_16_bit(photo, restorer):
    enhancer = FaceEnhancer(restorer, upscale=2, detection_model='mtcnn', use_parse=False)
    rgba = np.dstack([photo, np.full(photo.shape[:2], 77, np.uint8)])
    out = enhancer.enhance(rgba)[2]
    assert out.shape == (1024, 1024, 4) and (out[..., 3] == 77).all()
    gray = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    out_gray = enhancer.enhance(gray)[2]
    assert out_gray.shape == (1024, 1024)
    deep = photo.astype(np.uint16) * 257
    out_deep = enhancer.enhance(deep)[2]
    assert out_deep.dtype == np.uint16 and out_deep.shape == (1024, 1024, 3)
    ref = cv2.resize(deep, (1024, 1024), interpolation=cv2.INTER_LINEAR)  # the official background
    assert np.abs(out_deep.astype(int) - ref.astype(int))[:100, :100].max() == 0  # background untouched


def test_no_face_still_gives_the_upscaled_background(restorer):
    sky = np.full((120, 160, 3), (200, 150, 90), np.uint8)
    cropped, restored, final = FaceEnhancer(restorer, upscale=3, detection_model='mtcnn', use_parse=False).enhance(sky)
    # as the official does, the photo is enlarged to a shorter side of 512 first (683 x 512), then upscaled
    assert cropped == [] and restored == [] and final.shape == (1536, 2049, 3)


def test_only_center_face_and_eye_distance(photo, restorer):
    canvas = np.full((512, 1400, 3), 180, np.uint8)
    canvas[:, :512] = photo
    canvas[:, 888:] = photo
    small = cv2.resize(photo, (256, 256), interpolation=cv2.INTER_AREA)
    canvas[128:384, 572:828] = small  # the centre one is smaller
    enhancer = FaceEnhancer(restorer, upscale=1, detection_model='mtcnn', use_parse=False)
    assert len(enhancer.detect(canvas)) == 3
    centre = enhancer.detect(canvas, only_center=True)
    assert len(centre) == 1 and 572 < centre[0].box[0] < 828
    # the official measure is about half the eye distance: ~12 for the small face (eyes ~23 px apart), ~23 for others
    enhancer.min_eye_distance = 16
    assert len(enhancer.detect(canvas)) == 2


def test_a_fidelity_weight_per_face_equals_separate_calls(photo, restorer):
    """Two faces with w 0.1 and 0.9 in one call, against each face restored alone at its own w."""
    canvas = np.full((512, 1100, 3), 180, np.uint8)
    canvas[:, :512] = photo
    canvas[:, 588:] = photo
    enhancer = FaceEnhancer(restorer, upscale=1, detection_model='mtcnn', use_parse=False)
    faces = sorted(enhancer.detect(canvas), key=lambda f: f.box[0])
    assert len(faces) == 2
    crops, mixed, final = (lambda r: (r.cropped_faces, r.restored_faces, r.restored_img))(
        enhancer.enhance_batch([canvas], faces=[faces], w=[[0.1, 0.9]])[0])
    for face, w, got in zip(faces, (0.1, 0.9), mixed):
        alone = enhancer.enhance_batch([canvas], faces=[[face]], w=w)[0].restored_faces[0]
        assert np.abs(alone.astype(int) - got).max() <= 1
    assert np.abs(mixed[0].astype(int) - mixed[1]).mean() > 1  # the two weights gave different faces
    assert len(restorer.restore_faces(crops, w=[0.1, 0.9])) == 2
    with pytest.raises(ValueError, match='do not match the faces'):
        enhancer.enhance_batch([canvas], faces=[faces], w=[[0.5]])
    with pytest.raises(ValueError, match=r'w=1.5: must be in \[0, 1\]'):
        restorer.restore_faces(crops, w=[0.5, 1.5])


def test_progress_is_reported_per_network_batch(photo):
    """A long call says how far it is: after each network batch, faces restored so far of those found."""
    restorer = FaceRestorer('restoration', w=0.5, net=small_codeformer(), device='cpu', batch_size=2)
    canvas = np.full((512, 1600, 3), 180, np.uint8)
    for x in (0, 544, 1088):
        canvas[:, x:x + 512] = photo
    enhancer = FaceEnhancer(restorer, upscale=1, detection_model='mtcnn', use_parse=False)
    calls = []
    result = enhancer.enhance_batch([canvas], on_progress=lambda done, found: calls.append((done, found)))[0]
    assert len(result.faces) == 3 and calls == [(2, 3), (3, 3)]
    calls.clear()
    enhancer.enhance_batch(result.cropped_faces, has_aligned=True, on_progress=lambda *a: calls.append(a))
    assert calls == [(2, 3), (3, 3)]
