"""MTCNN (Zhang et al. 2016): a three-stage cascade that needs no download.

The trained P/R/O-Net weights (2 MB, MIT licence) ship inside the ``facenet-pytorch`` wheel on PyPI. That package
pins an old torch, so it is installed with ``pip install --no-deps facenet-pytorch`` and never imported: this module
has its own network code and only reads the three state-dict files from the package folder. MTCNN gives the same
five points, in the same order, as RetinaFace.
"""
from __future__ import annotations

import importlib.util
import math
import os
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn
from torchvision.ops import nms

from codeformer.detection.common import DetectedFace, as_bgr, sort_faces
from codeformer.errors import MissingPackage

PACKAGE = 'facenet_pytorch'
INSTALL_HINT = 'pip install --no-deps facenet-pytorch'
_MEAN, _SCALE = 127.5, 1 / 128.0  # the networks were trained on (RGB - 127.5) / 128


class PNet(nn.Module):
    """Proposal net: fully convolutional, one 12 x 12 window every 2 pixels -> face probability and box shifts."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
        self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, 1)
        self.conv4_2 = nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
        return torch.softmax(self.conv4_1(x), dim=1)[:, 1], self.conv4_2(x)


def _flatten(x: torch.Tensor) -> torch.Tensor:
    """Flatten in the (W, H, C) order of the converted Caffe weights the dense layers expect."""
    return x.permute(0, 3, 2, 1).reshape(len(x), -1)


class RNet(nn.Module):
    """Refine net: 24 x 24 crops -> face probability and box shifts."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 28, 3), nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(28, 48, 3), nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
        self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu4(self.dense4(_flatten(self.prelu3(self.conv3(x)))))
        return torch.softmax(self.dense5_1(x), dim=1)[:, 1], self.dense5_2(x)


class ONet(nn.Module):
    """Output net: 48 x 48 crops -> face probability, box shifts and five points (x1..x5, y1..y5 in the box)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu5(self.dense5(_flatten(self.prelu4(self.conv4(x)))))
        return torch.softmax(self.dense6_1(x), dim=1)[:, 1], self.dense6_2(x), self.dense6_3(x)


def weights_folder() -> Path:
    """The ``data`` folder of the installed facenet-pytorch, found without importing the package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingPackage(f'reads its weights from the facenet-pytorch package, which is not installed: '
                             f'{INSTALL_HINT}', 'detection_model', 'mtcnn')
    return Path(next(iter(spec.submodule_search_locations))) / 'data'


def _load(net: nn.Module, path: Path) -> nn.Module:
    net.load_state_dict(torch.load(os.fspath(path), map_location='cpu', weights_only=True))
    return net.eval()


def _square(boxes: np.ndarray) -> np.ndarray:
    """Grow each box to a square around its centre (the R/O-Nets see square crops)."""
    centre = (boxes[:, :2] + boxes[:, 2:4]) / 2
    half = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])[:, None] / 2
    return np.hstack([centre - half, centre + half])


def _shift(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """Apply the networks' box corrections, which are fractions of the box size."""
    size = np.hstack([boxes[:, 2:4] - boxes[:, :2]] * 2)
    return boxes[:, :4] + reg * size


def _nms_min(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Non-maximum suppression by intersection over the smaller box, which removes a box nested in a larger one."""
    order = np.argsort(-scores)
    area = np.prod(boxes[:, 2:4] - boxes[:, :2], axis=1)
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        lo = np.maximum(boxes[i, :2], boxes[rest, :2])
        hi = np.minimum(boxes[i, 2:4], boxes[rest, 2:4])
        inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
        order = rest[inter / np.minimum(area[i], area[rest]) <= threshold]
    return np.asarray(keep, dtype=np.int64)


def _nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    return nms(torch.from_numpy(boxes[:, :4]).float(), torch.from_numpy(scores).float(), threshold).numpy()


class MTCNNDetector:
    """MTCNN on the CPU (or any torch device) with the classic settings: smallest face 20 px, pyramid step 0.709,
    stage thresholds 0.6 / 0.7 / 0.7.

    ``min_face`` trades speed for small faces: the first stage's cost grows with (image size / min_face)^2.
    """

    name = 'mtcnn'

    def __init__(self, device: torch.device | str = 'cpu', weights_dir: str | os.PathLike | None = None,
                 min_face: float = 20.0, thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
                 factor: float = 0.709, batch: int = 256) -> None:
        folder = Path(weights_dir) if weights_dir is not None else weights_folder()
        self.device = torch.device(device)
        self.pnet = _load(PNet(), folder / 'pnet.pt').to(self.device)
        self.rnet = _load(RNet(), folder / 'rnet.pt').to(self.device)
        self.onet = _load(ONet(), folder / 'onet.pt').to(self.device)
        self.min_face, self.thresholds, self.factor, self.batch = float(min_face), thresholds, factor, batch

    @torch.inference_mode()
    def detect(self, bgr: np.ndarray) -> list[DetectedFace]:
        """Faces in a uint8 BGR image (gray and RGBA are accepted too), highest score first."""
        rgb = cv2.cvtColor(as_bgr(bgr), cv2.COLOR_BGR2RGB)
        boxes = self._propose(rgb)
        if len(boxes):
            boxes = self._refine(rgb, boxes)
        if not len(boxes):
            return []
        return sort_faces(self._output(rgb, boxes))

    def _tensor(self, rgb: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(rgb)).to(self.device, torch.float32)
        return ((x - _MEAN) * _SCALE).permute(2, 0, 1)[None]

    def _propose(self, rgb: np.ndarray) -> np.ndarray:
        """Stage 1: slide the P-Net over an image pyramid; square boxes (N, 4) in input pixels."""
        h, w = rgb.shape[:2]
        scale = 12.0 / self.min_face
        found = []
        while min(h, w) * scale >= 12:
            size = (math.ceil(w * scale), math.ceil(h * scale))
            small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            prob, reg = self.pnet(self._tensor(small))
            prob, reg = prob[0].cpu().numpy(), reg[0].cpu().numpy()
            ys, xs = np.nonzero(prob >= self.thresholds[0])
            if len(ys):
                # window (x, y) of the P-Net covers pixels [2x, 2x + 12) of the scaled image
                sx, sy = size[0] / w, size[1] / h
                corner = np.stack([xs * 2, ys * 2], axis=1).astype(np.float64)
                b = np.hstack([corner / (sx, sy), (corner + 12) / (sx, sy)])
                score = prob[ys, xs]
                keep = _nms(b, score, 0.5)
                found.append(np.hstack([b, score[:, None], reg[:, ys, xs].T])[keep])
            scale *= self.factor
        if not found:
            return np.zeros((0, 4))
        cand = np.vstack(found)
        cand = cand[_nms(cand[:, :4], cand[:, 4], 0.7)]
        return _square(_shift(cand[:, :4], cand[:, 5:9]))

    def _crops(self, rgb: np.ndarray, boxes: np.ndarray, size: int) -> torch.Tensor:
        """Each box cut out (black outside the image) and resized to ``size`` x ``size``, as the nets were trained."""
        h, w = rgb.shape[:2]
        out = np.empty((len(boxes), size, size, 3), dtype=np.uint8)
        for i, (x1, y1, x2, y2) in enumerate(np.round(boxes[:, :4]).astype(np.int64)):
            x2, y2 = max(x2, x1 + 1), max(y2, y1 + 1)
            patch = np.zeros((y2 - y1, x2 - x1, 3), dtype=np.uint8)
            sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
            if sx2 > sx1 and sy2 > sy1:
                patch[sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1] = rgb[sy1:sy2, sx1:sx2]
            out[i] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
        x = torch.from_numpy(out).to(self.device, torch.float32)
        return ((x - _MEAN) * _SCALE).permute(0, 3, 1, 2)

    def _run(self, net: nn.Module, crops: torch.Tensor) -> list[np.ndarray]:
        parts = [net(crops[i:i + self.batch]) for i in range(0, len(crops), self.batch)]
        return [torch.cat(p).cpu().numpy() for p in zip(*parts)]

    def _refine(self, rgb: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Stage 2: the R-Net rejects most proposals and tightens the rest."""
        prob, reg = self._run(self.rnet, self._crops(rgb, boxes, 24))
        ok = prob >= self.thresholds[1]
        boxes, prob, reg = boxes[ok], prob[ok], reg[ok]
        if not len(boxes):
            return boxes
        keep = _nms(boxes, prob, 0.7)
        return _square(_shift(boxes[keep], reg[keep]))

    def _output(self, rgb: np.ndarray, boxes: np.ndarray) -> list[DetectedFace]:
        """Stage 3: the O-Net gives the final score, box and five points."""
        prob, reg, pts = self._run(self.onet, self._crops(rgb, boxes, 48))
        ok = prob >= self.thresholds[2]
        boxes, prob, reg, pts = boxes[ok], prob[ok], reg[ok], pts[ok]
        if not len(boxes):
            return []
        size = boxes[:, 2:4] - boxes[:, :2]
        # points are fractions of the crop; the crop's first pixel centre sits at the box's integer corner
        marks = np.stack([boxes[:, :1] + pts[:, :5] * size[:, :1], boxes[:, 1:2] + pts[:, 5:] * size[:, 1:]], axis=2)
        final = _shift(boxes, reg)
        keep = _nms_min(final, prob, 0.7)
        return [DetectedFace(final[i], prob[i], marks[i]) for i in keep]
