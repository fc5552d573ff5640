"""Similarity transform to the face template and the coordinate maps back."""
import numpy as np
import pytest

from codeformer.alignment import compose, crop_face, eye_distance, invert, scale_map, similarity_transform, template


def apply(matrix, pts):
    return np.asarray(pts) @ matrix[:, :2].T + matrix[:, 2]


def test_template_points_map_exactly_when_the_face_is_a_similarity_of_it():
    angle, scale, shift = 0.3, 0.4, np.array([100.0, 50.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    landmarks = template() @ rot.T + shift
    matrix = similarity_transform(landmarks)
    np.testing.assert_allclose(apply(matrix, landmarks), template(), atol=1e-6)
    np.testing.assert_allclose(apply(compose(invert(matrix), matrix), landmarks), landmarks, atol=1e-6)
    assert eye_distance(landmarks) == pytest.approx(eye_distance(template()) * scale)


def test_scale_map_matches_pixel_centres_of_a_resize():
    # resizing by 2: input pixel 0 covers output pixels 0 and 1, whose centre is 0.5
    np.testing.assert_allclose(apply(scale_map(2), [[0, 0], [3, 1]]), [[0.5, 0.5], [6.5, 2.5]])
    np.testing.assert_allclose(compose(scale_map(0.5), scale_map(2)), scale_map(1), atol=1e-12)


def test_crop_puts_a_marked_point_where_the_template_says():
    img = np.zeros((300, 400, 3), np.uint8)
    landmarks = template(512) * 0.3 + [120, 40]
    left_eye = landmarks[0].round().astype(int)
    img[left_eye[1] - 1:left_eye[1] + 2, left_eye[0] - 1:left_eye[0] + 2] = 255
    crop = crop_face(img, similarity_transform(landmarks), 512)
    ys, xs = np.nonzero(crop[..., 0] > 128)
    assert abs(xs.mean() - template()[0, 0]) < 4 and abs(ys.mean() - template()[0, 1]) < 4


def test_degenerate_landmarks_are_rejected():
    with pytest.raises(ValueError, match='degenerate'):
        similarity_transform(np.zeros((5, 2)))
