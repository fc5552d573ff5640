"""RetinaFace (ResNet-50 or MobileNet-0.25) through facexlib, with weights from the weight zoo.

facexlib's ``init_detection_model`` downloads into its own package folder when ``model_rootpath`` is unset; here the
network is built directly and loaded from ``codeformer.weight_zoo``, so nothing is ever written into site-packages
and a missing file is a one-line ``WeightsUnavailable``. No parsing weights are touched.
"""
from __future__ import annotations

import os
import warnings

import cv2
import numpy as np
import torch

from codeformer.detection.common import DetectedFace, as_bgr, local_weights, sort_faces
from codeformer.errors import InvalidOption

NETWORKS = {'retinaface_resnet50': 'resnet50', 'retinaface_mobile0.25': 'mobile0.25'}


class RetinaFaceDetector:
    """facexlib's RetinaFace as the official CodeFormer runs it: score threshold 0.8, and a photo whose shorter side is
    under ``min_short_side`` (640) enlarged to it (bilinear) for detection, the points scaled back.

    The official script asks for a shorter side of 640 but never shrinks (its scale is at least 1), so large photos are
    detected at their own size.
    """

    def __init__(self, name: str = 'retinaface_resnet50', device: torch.device | str = 'cpu',
                 weights_dir: str | os.PathLike | None = None, progress: bool = True,
                 conf_threshold: float = 0.8, nms_threshold: float = 0.4, min_short_side: int = 640) -> None:
        # importing this package already ran codeformer's torchvision shim, which facexlib needs
        from facexlib.detection.retinaface import RetinaFace

        from codeformer import weight_zoo

        if name not in NETWORKS:
            raise InvalidOption(f'unknown RetinaFace model {name!r}; known: {", ".join(NETWORKS)}')
        self.name = name
        self.device = torch.device(device)
        path = local_weights(name, weights_dir, progress)
        with warnings.catch_warnings():  # facexlib builds the ResNet with torchvision's deprecated `pretrained=False`
            warnings.simplefilter('ignore', UserWarning)
            net = RetinaFace(network_name=NETWORKS[name], half=False, device=self.device)
        self.net = weight_zoo.load_network(net, name, path=path).to(self.device).eval()
        self.conf_threshold, self.nms_threshold = conf_threshold, nms_threshold
        self.min_short_side = min_short_side

    @torch.inference_mode()
    def detect(self, bgr: np.ndarray) -> list[DetectedFace]:
        """Faces in a uint8 BGR image (gray and RGBA are accepted too), highest score first."""
        bgr = as_bgr(bgr)
        if min(bgr.shape[:2]) < 2:  # nothing to find, and the network's pyramid needs at least a few pixels
            return []
        h, w = bgr.shape[:2]
        scale = max(1.0, self.min_short_side / min(h, w))
        if scale > 1:  # sizes truncated, and the points divided by the scale, as the official helper does
            bgr = cv2.resize(bgr, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_LINEAR)
        rows = self.net.detect_faces(bgr, conf_threshold=self.conf_threshold, nms_threshold=self.nms_threshold,
                                     use_origin_size=True)
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, 15)
        rows[:, [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]] /= scale
        return sort_faces([DetectedFace(r[:4], r[4], r[5:15].reshape(5, 2)) for r in rows])
