"""Face parsing (facexlib's ParseNet) for the paste-back mask, batched like the restoration network."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from codeformer.paste import parsing_soft_mask
from codeformer.restorer import faces_to_tensor
from codeformer.runtime import prepare_for_inference
from codeformer.utils.checkpoint import load_network_weights


def build_parsenet() -> nn.Module:
    from facexlib.parsing.parsenet import ParseNet
    return ParseNet(in_size=512, out_size=512, parsing_ch=19)


def fold_batchnorm(net: nn.Module) -> nn.Module:
    """Fold each eval-mode BatchNorm into the convolution before it (ParseNet's ``ConvLayer``: conv2d then
    norm.norm), saving a pass over every activation; the function computed stays the same."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    for layer in net.modules():
        conv, norm = getattr(layer, 'conv2d', None), getattr(getattr(layer, 'norm', None), 'norm', None)
        if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
            layer.conv2d = fuse_conv_bn_eval(conv.eval(), norm.eval())
            layer.norm.norm = nn.Identity()
    return net


class FaceParser:
    """Soft paste masks for restored 512x512 faces."""

    def __init__(self, device: torch.device, dtype: torch.dtype = torch.float32, batch_size: int = 4,
                 net: nn.Module | None = None, progress: bool = True):
        if net is None:
            from codeformer.weight_zoo import resolve
            net = load_network_weights(build_parsenet(), resolve('parsenet', progress=progress))
        self.net = prepare_for_inference(fold_batchnorm(net.eval()), device, dtype)
        self.device, self.dtype, self.batch_size = device, dtype, max(1, batch_size)

    def masks(self, faces: list[np.ndarray]) -> list[np.ndarray]:
        """One soft mask (float64 in [0, 1], 512 x 512) per BGR face; the paste resizes it to the face."""
        out = []
        for start in range(0, len(faces), self.batch_size):
            chunk = faces[start:start + self.batch_size]
            x = faces_to_tensor(chunk, 512, self.device, self.dtype)
            with torch.inference_mode():
                labels = self.net(x)[0].argmax(dim=1).cpu().numpy()
            out.extend(parsing_soft_mask(lab) for lab in labels)
        return out
