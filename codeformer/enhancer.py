"""Whole-image restoration: detect, align, restore in batches, paste back, upsample the background.

``FaceEnhancer`` is the class other programs embed (the CLI uses it too): construct once, then
``enhance(image)`` returns the cropped faces, the restored faces and the final image, as GFPGAN's
``GFPGANer.enhance`` does. Networks are built on first use, so a run loads only what it needs.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch

from codeformer.alignment import (
    RETINAFACE_5,
    apply_affine,
    crop_face,
    eye_distance,
    face_matrix,
    layout_of,
    scale_map,
)
from codeformer.errors import InvalidOption
from codeformer.gray import decisive_stats, gray_face, is_gray, looks_gray
from codeformer.outputs import official_layout
from codeformer.paste import face_to_canvas, paste_face
from codeformer.restorer import FaceRestorer
from codeformer.utils.image_io import as_uint8, join_channels, max_value, split_channels

FACE_SIZE = 512


@dataclass(frozen=True)
class Refinements:
    """Where the paste-back departs on purpose from the official one. Each is too small to see and plainly right, is
    measured in the README's "Differences from the official scripts", and can be switched off to measure it again.

    centred_paste: map the face to the upscaled output through pixel centres (the official adds s/2 to the inverse
        matrix's shift where (s - 1)/2 is exact, which moves faces by half an output pixel at upscale > 1).
    round_result: round the blended image (the official truncates, darkening every pasted pixel by half a level).
    """
    centred_paste: bool = False
    round_result: bool = True


OFFICIAL = Refinements(centred_paste=False, round_result=False)


@dataclass
class Enhanced:
    """Everything ``enhance`` produced for one image."""
    cropped_faces: list[np.ndarray]
    restored_faces: list[np.ndarray]
    restored_img: np.ndarray | None
    faces: list[dict] = field(default_factory=list)  # box, landmarks, score per face (input pixels)
    seconds: dict[str, float] = field(default_factory=dict)

    def official_files(self, tail: str = '', faces: bool = True) -> dict[str, np.ndarray]:
        """The files the official script writes for this image, by relative path with ``{name}`` for the image's
        name: ``cropped_faces/{name}_00.png``, ``restored_faces/{name}_00<tail>.png`` per face (``faces``), and
        ``final_results/{name}<tail>.png``."""
        shown = [(i, crop, face) for i, (crop, face) in enumerate(zip(self.cropped_faces, self.restored_faces))]
        return official_layout(self.restored_img, shown if faces else (), tail)


@dataclass
class _Prepared:
    """One image of a batch between alignment and paste-back."""
    image: np.ndarray  # as given
    bgr: np.ndarray
    alpha: np.ndarray | None
    work: np.ndarray  # the photo as the official works on it (small ones enlarged)
    factor: float  # work size / given size
    faces: list  # in the working image's pixels
    matrices: list[np.ndarray]  # each face's alignment
    first_crop: int  # where its faces start among the batch's crops
    seconds: dict[str, float]


class FaceEnhancer:
    """Restore the faces in whole images (or aligned crops) and paste them back.

    Args:
        restorer: the CodeFormer network wrapper (``FaceRestorer``); built from the other arguments if None.
        upscale: output size relative to the input (integer >= 1).
        detection_model: a name from ``codeformer.detection.DETECTORS``, or an object with ``detect(bgr)``.
        use_parse: paste with a face-parsing mask (ParseNet) instead of a feathered square.
        bg_upsampler: None or 'realesrgan' (or an object with ``enhance(img, outscale)``).
        face_upsample: upsample the restored faces before pasting them: with the background upsampler, or without one
            with ``face_upsampler``, as the official script does.
        face_upsampler: what upsamples the faces when there is no background upsampler: 'realesrgan' or an object
            with ``enhance(img, outscale)``.
        only_center_face: keep only the face nearest the image centre.
        min_eye_distance: ignore detections whose eyes are closer than this (pixels in the input).
        draw_box: outline each pasted face in the final image.
        bg_tile: tile size for Real-ESRGAN (0: whole image at once).
        keep_gray: give gray inputs gray results (off for colorization).
        refinements: our departures from the official paste-back (``Refinements``; ``OFFICIAL`` switches them off).
    """

    def __init__(self, restorer: FaceRestorer | None = None, upscale: int = 2,
                 detection_model: str | object = 'retinaface_resnet50', use_parse: bool = True,
                 bg_upsampler: str | object | None = None, face_upsample: bool = False,
                 face_upsampler: str | object | None = 'realesrgan',
                 only_center_face: bool = False, min_eye_distance: float = 5.0, draw_box: bool = False,
                 bg_tile: int = 400, keep_gray: bool = True, progress: bool = True, parser: object | None = None,
                 refinements: Refinements = Refinements(), **restorer_kwargs):
        if int(upscale) != upscale or upscale < 1:
            raise InvalidOption('must be a whole number >= 1', 'upscale', upscale)
        self.restorer = restorer if restorer is not None else FaceRestorer(progress=progress, **restorer_kwargs)
        self.upscale = int(upscale)
        self.use_parse = use_parse
        self.only_center_face = only_center_face
        self.min_eye_distance = min_eye_distance
        self.draw_box = draw_box
        self.face_upsample = face_upsample
        self.progress = progress
        self.bg_tile = bg_tile
        self.keep_gray = keep_gray
        self.refinements = refinements
        self._detector = detection_model
        self._parser = parser
        self._bg = bg_upsampler
        self._face_up = face_upsampler

    # -- lazily built helpers ---------------------------------------------------------------------
    @property
    def detector(self):
        if isinstance(self._detector, str):
            from codeformer.detection import build_detector
            self._detector = build_detector(self._detector, device=self.restorer.device, progress=self.progress)
        return self._detector

    @property
    def parser(self):
        if self._parser is None and self.use_parse:
            from codeformer.parsing import FaceParser
            self._parser = FaceParser(self.restorer.device, self.restorer.dtype, batch_size=self.restorer.batch_size,
                                      progress=self.progress)
        return self._parser

    @property
    def bg_upsampler(self):
        if isinstance(self._bg, str):
            self._bg = self._upsampler(self._bg, 'bg_upsampler')
        return self._bg

    @property
    def face_upsampler(self):
        """What upsamples the restored faces (None unless ``face_upsample``): the background's upsampler, else one of
        their own, as the official script sets them up."""
        if not self.face_upsample:
            return None
        if self.bg_upsampler is not None:
            return self.bg_upsampler
        if self._face_up is None:
            raise InvalidOption('face_upsample needs an upsampler: give bg_upsampler or face_upsampler',
                                'face_upsampler', None)
        if isinstance(self._face_up, str):
            self._face_up = self._upsampler(self._face_up, 'face_upsampler')
        return self._face_up

    def _upsampler(self, name: str, argument: str):
        from codeformer.upsamplers import build_upsampler
        device = self.restorer.device
        half = device.type == 'cuda' and self.restorer.dtype != torch.float32  # as the official: fp16 on a GPU
        return build_upsampler(name, device, half=half, tile=self.bg_tile, progress=self.progress, argument=argument)

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) of the restored image for a whole photo of ``height`` x ``width``."""
        h, w = working_size(height, width)
        return h * self.upscale, w * self.upscale

    def load(self) -> FaceEnhancer:
        """Build every helper now (so missing weights show before a batch starts)."""
        _ = self.detector, self.parser, self.bg_upsampler, self.face_upsampler
        return self

    # -- the work ---------------------------------------------------------------------------------
    def enhance(self, img: np.ndarray, has_aligned: bool = False, only_center_face: bool | None = None,
                paste_back: bool = True, w: float | Sequence[float] | None = None
                ) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray | None]:
        """(cropped faces, restored faces, restored image) for one BGR/BGRA/gray image.

        ``w``: fidelity weight, None for the restorer's, a float, or one value per face (in detection order).
        """
        per_image = None if w is None else (w if isinstance(w, (int, float)) else [list(w)])
        result = self.enhance_batch([img], has_aligned, only_center_face, paste_back, w=per_image)[0]
        return result.cropped_faces, result.restored_faces, result.restored_img

    def enhance_batch(self, images: list[np.ndarray], has_aligned: bool = False,
                      only_center_face: bool | None = None, paste_back: bool = True,
                      faces: list[list] | None = None,
                      w: float | Sequence[Sequence[float]] | None = None,
                      states: Sequence[Sequence] | None = None,
                      on_progress: Callable[[int, int], None] | None = None) -> list[Enhanced]:
        """Like ``enhance`` for several images; their faces share network batches.

        ``faces``: per image, the faces to restore (objects with ``box``, ``score``, five ``landmarks`` and optionally
        ``layout``, in the image's pixels) instead of detecting them here, e.g. tracked and smoothed across video
        frames. ``w``: fidelity weight, None for the restorer's, a float for every face, or per image a list with one
        value per face (in the order the faces are detected or given; aligned crops: one value each).
        ``states``: with ``faces``, per image one entry per face for ``FaceRestorer.restore_faces(states=...)`` (how
        its codes are picked: the video loop's temporal mode); None: the network's own codes.
        ``on_progress``: called after each network batch with (faces restored so far, faces found in all).
        """
        if has_aligned:
            return self._aligned(images, w if w is None or isinstance(w, (int, float)) else [v for v, in w],
                                 on_progress)
        center = self.only_center_face if only_center_face is None else only_center_face
        prepared, crops = [], []
        for idx, img in enumerate(images):
            t0 = time.perf_counter()
            bgr, alpha = split_channels(img)
            work, f = working_image(bgr)
            if faces is None:
                found = self._detect_work(work, center)
            else:
                found = [moved(face, scale_map(f)) for face in faces[idx]] if f != 1 else list(faces[idx])
            t1 = time.perf_counter()
            matrices = [face_matrix(face, FACE_SIZE) for face in found]
            img_crops = [crop_face(work, m, FACE_SIZE) for m in matrices]
            t2 = time.perf_counter()
            prepared.append(_Prepared(img, bgr, alpha, work, f, found, matrices, len(crops),
                                      {'detect': t1 - t0, 'align': t2 - t1}))
            crops += img_crops
        t0 = time.perf_counter()
        if w is None or isinstance(w, (int, float)):
            weights = w
        else:
            counts = [len(p.faces) for p in prepared]
            if [len(v) for v in w] != counts:
                raise InvalidOption(f'fidelity weights per image {[len(v) for v in w]} do not match the faces {counts}')
            weights = [float(v) for per_image in w for v in per_image]
        extra = {'states': _flat_states(states, prepared)} if states is not None else {}
        if on_progress is not None:
            extra['on_progress'] = on_progress
        restored = self.restorer.restore_faces(crops, w=weights, **extra) if crops else []
        restore_secs = time.perf_counter() - t0
        results = []
        for p in prepared:
            img, bgr, alpha, work, f, found, matrices, secs = (p.image, p.bgr, p.alpha, p.work, p.factor, p.faces,
                                                                p.matrices, p.seconds)
            mine = slice(p.first_crop, p.first_crop + len(found))
            secs['restore'] = restore_secs * len(found) / max(1, len(crops))
            img_crops, img_restored = crops[mine], restored[mine]
            stats = decisive_stats(bgr) if self.keep_gray else None  # for both gray tests, measured once
            if self.keep_gray and looks_gray(bgr, stats=stats):  # the official tests the photo before enlarging it
                img_restored = [gray_face(face, crop) for face, crop in zip(img_restored, img_crops)]
            final = None
            if paste_back:
                final = self._paste(img, bgr, alpha, work, matrices, img_restored, secs,
                                    self.keep_gray and is_gray(img, stats=stats))
            in_input = [moved(face, scale_map(1 / f)) for face in found] if f != 1 else found
            shown = [as_dtype(face, crop.dtype) for face, crop in zip(img_restored, img_crops)]
            results.append(Enhanced(img_crops, shown, final, [_face_info(face) for face in in_input],
                                    {k: round(v, 4) for k, v in secs.items()}))
        return results

    def _aligned(self, images: list[np.ndarray], w: float | list[float] | None = None,
                 on_progress: Callable[[int, int], None] | None = None) -> list[Enhanced]:
        t0 = time.perf_counter()
        split = [split_channels(img) for img in images]
        extra = {'on_progress': on_progress} if on_progress is not None else {}
        restored = self.restorer.restore_faces([bgr for bgr, _ in split], w=w, **extra)
        secs = {'restore': round((time.perf_counter() - t0) / max(1, len(images)), 4)}
        out = []
        for img, (bgr, alpha), face in zip(images, split, restored):
            final = join_channels(face, alpha, self.keep_gray and is_gray(img), img.ndim == 2)
            out.append(Enhanced([bgr], [final], None, [], dict(secs)))
        return out

    def detect(self, bgr: np.ndarray, only_center: bool = False) -> list:
        """Faces in a BGR image (uint8 or uint16), in its own pixels, found as the official finds them: on the photo
        enlarged to a shorter side of 512 when it is smaller, small faces left out (``detector_eye_measure``)."""
        work, f = working_image(bgr)
        found = self._detect_work(work, only_center)
        return [moved(face, scale_map(1 / f)) for face in found] if f != 1 else found

    def _detect_work(self, work: np.ndarray, only_center: bool) -> list:
        faces = [f for f in self.detector.detect(as_uint8(work)) if detector_eye_measure(f) >= self.min_eye_distance]
        return nearest_to_centre(faces, work.shape) if only_center else faces

    def _paste(self, img, bgr, alpha, work, matrices, restored, secs, gray: bool) -> np.ndarray:
        s = self.upscale
        t0 = time.perf_counter()
        h, w = work.shape[:2]
        if self.bg_upsampler is not None:  # from the photo as given, then to the size of the enlarged one
            canvas = self.bg_upsampler.enhance(bgr, outscale=s)
            if canvas.shape[:2] != (h * s, w * s):
                canvas = cv2.resize(canvas, (w * s, h * s), interpolation=cv2.INTER_LANCZOS4)
        elif s != 1:
            canvas = cv2.resize(work, (w * s, h * s), interpolation=cv2.INTER_LINEAR)
        else:
            canvas = work.copy()
        secs['background'] = time.perf_counter() - t0
        faces = restored
        if self.face_upsampler is not None:
            t0 = time.perf_counter()
            faces = [self.face_upsampler.enhance(as_dtype(face, work.dtype), outscale=s) for face in restored]
            secs['face_upsample'] = time.perf_counter() - t0
        t0 = time.perf_counter()
        # the official parses the face it pastes (upsampled ones resized back to 512)
        to_parse = [as_dtype(face, work.dtype) for face in faces]
        masks = self.parser.masks(to_parse) if (self.use_parse and faces) else [None] * len(faces)
        secs['parse'] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for face, mask, matrix in zip(faces, masks, matrices):
            k = face.shape[0] / FACE_SIZE  # restored faces may be upsampled, or come from a smaller network
            to_canvas = face_to_canvas(matrix, s, k, centred=self.refinements.centred_paste)
            paste_face(canvas, face, to_canvas, mask, erode_px=2 * s, round_result=self.refinements.round_result,
                       draw_box=self.draw_box)
        secs['paste'] = time.perf_counter() - t0
        return join_channels(canvas, alpha, gray, img.ndim == 2)


def working_scale(height: int, width: int) -> float:
    """How much the official pipeline enlarges a photo first: to a shorter side of 512 when it is smaller."""
    short = min(height, width)
    return 1.0 if short >= FACE_SIZE or short == 0 else FACE_SIZE / short


def working_size(height: int, width: int) -> tuple[int, int]:
    """(height, width) of the enlarged photo, rounded as OpenCV rounds a resize by a factor."""
    f = working_scale(height, width)
    return (height, width) if f == 1 else (round(height * f), round(width * f))


def working_image(bgr: np.ndarray) -> tuple[np.ndarray, float]:
    """The photo the official pipeline works on, and its scale: one whose shorter side is under 512 px is enlarged
    (bilinear) to 512 first, so detection, crops and the output size all follow from the enlarged photo."""
    f = working_scale(*bgr.shape[:2])
    if f == 1:
        return bgr, 1.0
    return cv2.resize(bgr, (0, 0), fx=f, fy=f, interpolation=cv2.INTER_LINEAR), f


def moved(face, matrix: np.ndarray):
    """A copy of a detected or tracked face with its box and landmarks mapped through ``matrix``."""
    corners = apply_affine(matrix, np.asarray(face.box, np.float64).reshape(2, 2)).reshape(4)
    return dataclasses.replace(face, box=corners, landmarks=apply_affine(matrix, face.landmarks))


def detector_eye_measure(face) -> float:
    """What ``min_eye_distance`` is compared with, as the official compares it.

    Five-point faces: the official's measure, |(left eye y - right eye y, right eye x - nose x)|, which is about half
    the eye distance on a frontal face (the official leaves out faces under 5). dlib faces (not filtered by the
    official): the distance between the eye centres.
    """
    layout = layout_of(face)
    if layout is not RETINAFACE_5:
        return eye_distance(face.landmarks, layout)
    (lx, ly), (rx, ry), (nx, _) = np.asarray(face.landmarks)[:3]
    return float(np.hypot(ly - ry, rx - nx))


def as_dtype(face: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A face as an image of ``dtype``: float faces (gray ones) rounded and clipped."""
    if face.dtype == dtype:
        return face
    return np.clip(np.round(face), 0, max_value(dtype)).astype(dtype)


def nearest_to_centre(faces: list, shape: tuple[int, ...]) -> list:
    """The one face whose box centre is nearest the image's centre (``--only_center_face``)."""
    if len(faces) <= 1:
        return faces
    centre = np.array([shape[1] / 2, shape[0] / 2])
    return [min(faces, key=lambda f: np.linalg.norm((np.asarray(f.box[:2]) + f.box[2:]) / 2 - centre))]


def _flat_states(states: Sequence[Sequence], prepared: list[_Prepared]) -> list:
    """One state per crop, in the batch's crop order, checked against the faces of each image."""
    counts = [len(p.faces) for p in prepared]
    if [len(s) for s in states] != counts:
        raise InvalidOption(f'states per image {[len(s) for s in states]} do not match the faces {counts}')
    return [s for per_image in states for s in per_image]


def _face_info(face) -> dict:
    return {'box': [round(float(v), 2) for v in face.box], 'score': round(float(face.score), 4),
            'landmarks': [[round(float(x), 2), round(float(y), 2)] for x, y in face.landmarks]}
