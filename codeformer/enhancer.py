"""Whole-image restoration: detect, align, restore in batches, paste back, upsample the background.

``FaceEnhancer`` is the class other programs embed (the CLI uses it too): construct once, then
``enhance(image)`` returns the cropped faces, the restored faces and the final image, as GFPGAN's
``GFPGANer.enhance`` does. Networks are built on first use, so a run loads only what it needs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch

from codeformer.alignment import compose, crop_face, eye_distance, invert, scale_map, similarity_transform
from codeformer.paste import paste_face
from codeformer.restorer import FaceRestorer
from codeformer.utils.image_io import as_uint8, is_gray, join_channels, max_value, split_channels

FACE_SIZE = 512


@dataclass
class Enhanced:
    """Everything ``enhance`` produced for one image."""
    cropped_faces: list[np.ndarray]
    restored_faces: list[np.ndarray]
    restored_img: np.ndarray | None
    faces: list[dict] = field(default_factory=list)  # box, landmarks, score per face (input pixels)
    seconds: dict[str, float] = field(default_factory=dict)


class FaceEnhancer:
    """Restore the faces in whole images (or aligned crops) and paste them back.

    Args:
        restorer: the CodeFormer network wrapper (``FaceRestorer``); built from the other arguments if None.
        upscale: output size relative to the input (integer >= 1).
        detection_model: a name from ``codeformer.detection.DETECTORS``, or an object with ``detect(bgr)``.
        use_parse: paste with a face-parsing mask (ParseNet) instead of a feathered square.
        bg_upsampler: None or 'realesrgan' (or an object with ``enhance(img, outscale)``).
        face_upsample: also upsample the restored faces with the background upsampler before pasting.
        only_center_face: keep only the face nearest the image centre.
        min_eye_distance: ignore detections whose eyes are closer than this (pixels in the input).
        draw_box: outline each pasted face in the final image.
        bg_tile: tile size for Real-ESRGAN (0: whole image at once).
        keep_gray: give gray inputs gray results (off for colorization).
    """

    def __init__(self, restorer: FaceRestorer | None = None, upscale: int = 2,
                 detection_model: str | object = 'retinaface_resnet50', use_parse: bool = True,
                 bg_upsampler: str | object | None = None, face_upsample: bool = False,
                 only_center_face: bool = False, min_eye_distance: float = 5.0, draw_box: bool = False,
                 bg_tile: int = 400, keep_gray: bool = True, progress: bool = True, parser: object | None = None,
                 **restorer_kwargs):
        if int(upscale) != upscale or upscale < 1:
            raise ValueError(f'upscale must be a whole number >= 1, got {upscale}')
        self.restorer = restorer or FaceRestorer(progress=progress, **restorer_kwargs)
        self.upscale = int(upscale)
        self.use_parse = use_parse
        self.only_center_face = only_center_face
        self.min_eye_distance = min_eye_distance
        self.draw_box = draw_box
        self.face_upsample = face_upsample
        self.progress = progress
        self.bg_tile = bg_tile
        self.keep_gray = keep_gray
        self._detector = detection_model
        self._parser = parser
        self._bg = bg_upsampler

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
            self._parser = FaceParser(self.restorer.device, batch_size=self.restorer.batch_size,
                                      progress=self.progress)
        return self._parser

    @property
    def bg_upsampler(self):
        if isinstance(self._bg, str):
            if self._bg != 'realesrgan':
                raise ValueError(f'unknown background upsampler {self._bg!r} (choose realesrgan)')
            from codeformer.background import RealESRGANUpsampler
            device = self.restorer.device
            self._bg = RealESRGANUpsampler(device, half=self.restorer.dtype != torch.float32, tile=self.bg_tile,
                                           progress=self.progress)
        return self._bg

    def load(self) -> FaceEnhancer:
        """Build every helper now (so missing weights show before a batch starts)."""
        _ = self.detector, self.parser, self.bg_upsampler
        return self

    # -- the work ---------------------------------------------------------------------------------
    def enhance(self, img: np.ndarray, has_aligned: bool = False, only_center_face: bool | None = None,
                paste_back: bool = True) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray | None]:
        """(cropped faces, restored faces, restored image) for one BGR/BGRA/gray image."""
        result = self.enhance_batch([img], has_aligned, only_center_face, paste_back)[0]
        return result.cropped_faces, result.restored_faces, result.restored_img

    def enhance_batch(self, images: list[np.ndarray], has_aligned: bool = False,
                      only_center_face: bool | None = None, paste_back: bool = True,
                      faces: list[list] | None = None) -> list[Enhanced]:
        """Like ``enhance`` for several images; their faces share network batches.

        ``faces``: per image, the faces to restore (objects with ``box``, ``score`` and five
        ``landmarks``) instead of detecting them here, e.g. tracked and smoothed across video frames.
        """
        if has_aligned:
            return self._aligned(images)
        center = self.only_center_face if only_center_face is None else only_center_face
        prepared, crops, owners = [], [], []
        for idx, img in enumerate(images):
            t0 = time.perf_counter()
            bgr, alpha = split_channels(img)
            found = self.detect(bgr, center) if faces is None else faces[idx]
            t1 = time.perf_counter()
            matrices = [similarity_transform(f.landmarks, FACE_SIZE) for f in found]
            img_crops = [crop_face(bgr, m, FACE_SIZE) for m in matrices]
            t2 = time.perf_counter()
            prepared.append((img, bgr, alpha, found, matrices, {'detect': t1 - t0, 'align': t2 - t1}))
            crops += img_crops
            owners += [idx] * len(img_crops)
        t0 = time.perf_counter()
        restored = self.restorer.restore_faces(crops) if crops else []
        restore_secs = time.perf_counter() - t0
        results = []
        for idx, (img, bgr, alpha, found, matrices, secs) in enumerate(prepared):
            mine = [i for i, o in enumerate(owners) if o == idx]
            secs['restore'] = restore_secs * len(mine) / max(1, len(crops))
            img_crops, img_restored = [crops[i] for i in mine], [restored[i] for i in mine]
            final = None
            if paste_back:
                final = self._paste(img, bgr, alpha, found, matrices, img_restored, secs)
            results.append(Enhanced(img_crops, img_restored, final, [_face_info(f) for f in found],
                                    {k: round(v, 4) for k, v in secs.items()}))
        return results

    def _aligned(self, images: list[np.ndarray]) -> list[Enhanced]:
        t0 = time.perf_counter()
        split = [split_channels(img) for img in images]
        restored = self.restorer.restore_faces([bgr for bgr, _ in split])
        secs = {'restore': round((time.perf_counter() - t0) / max(1, len(images)), 4)}
        out = []
        for img, (bgr, alpha), face in zip(images, split, restored):
            final = join_channels(face, alpha, self.keep_gray and is_gray(img), img.ndim == 2)
            out.append(Enhanced([bgr], [final], None, [], dict(secs)))
        return out

    def detect(self, bgr: np.ndarray, only_center: bool = False) -> list:
        """Faces in a BGR image (uint8 or uint16), small ones (by eye distance) left out."""
        faces = [f for f in self.detector.detect(as_uint8(bgr)) if eye_distance(f.landmarks) >= self.min_eye_distance]
        if only_center:
            faces = nearest_to_centre(faces, bgr.shape)
        return faces

    def _paste(self, img, bgr, alpha, faces, matrices, restored, secs) -> np.ndarray:
        s = self.upscale
        t0 = time.perf_counter()
        h, w = bgr.shape[:2]
        if self.bg_upsampler is not None:
            canvas = self.bg_upsampler.enhance(bgr, outscale=s)
        elif s != 1:
            canvas = cv2.resize(bgr, (w * s, h * s), interpolation=cv2.INTER_LANCZOS4)
        else:
            canvas = bgr.copy()
        secs['background'] = time.perf_counter() - t0
        t0 = time.perf_counter()
        masks = self.parser.masks(restored) if (self.use_parse and restored) else [None] * len(restored)
        secs['parse'] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for face, mask, matrix, info in zip(restored, masks, matrices, faces):
            if self.face_upsample and self.bg_upsampler is not None and s > 1:
                face = self.bg_upsampler.enhance(face, outscale=s)
                if mask is not None:
                    mask = cv2.resize(mask, face.shape[1::-1], interpolation=cv2.INTER_LINEAR)
            k = face.shape[0] / FACE_SIZE  # restored faces may be upsampled, or come from a smaller network
            face_to_canvas = compose(scale_map(s), compose(invert(matrix), scale_map(1 / k)))
            paste_face(canvas, face, face_to_canvas, mask, erode_px=2 * s)
            if self.draw_box:
                x0, y0, x1, y1 = (np.asarray(info.box) * s + (s - 1) / 2).round().astype(int)
                thickness = max(1, round(s * max(h, w) / 500))
                cv2.rectangle(canvas, (x0, y0), (x1, y1), (0, max_value(canvas.dtype), 0), thickness)
        secs['paste'] = time.perf_counter() - t0
        return join_channels(canvas, alpha, self.keep_gray and is_gray(img), img.ndim == 2)


def nearest_to_centre(faces: list, shape: tuple[int, ...]) -> list:
    """The one face whose box centre is nearest the image's centre (``--only_center_face``)."""
    if len(faces) <= 1:
        return faces
    centre = np.array([shape[1] / 2, shape[0] / 2])
    return [min(faces, key=lambda f: np.linalg.norm((np.asarray(f.box[:2]) + f.box[2:]) / 2 - centre))]


def _face_info(face) -> dict:
    return {'box': [round(float(v), 2) for v in face.box], 'score': round(float(face.score), 4),
            'landmarks': [[round(float(x), 2), round(float(y), 2)] for x, y in face.landmarks]}
