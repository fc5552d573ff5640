"""Faces through a stage-I VQGAN (encode, quantize, decode): what a codebook keeps of a face, to judge a trained
codebook before stage II is built on it."""
from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch

from codeformer.restorer import faces_to_tensor, tensor_to_faces
from codeformer.utils.checkpoint import CheckpointError


class VQGANReconstructor:
    """A VQGAN checkpoint (any codebook size and width), loaded once; ``reconstruct`` takes aligned BGR faces."""

    def __init__(self, model_path: str | os.PathLike, size: int = 512, device: str = 'auto'):
        from codeformer.archs import VQAutoEncoder
        from codeformer.runtime import prepare_for_inference, select_device
        from codeformer.utils.checkpoint import load_network_weights, read_state_dict
        state = read_state_dict(model_path)
        if 'quantize.embedding.weight' not in state or 'encoder.blocks.0.weight' not in state:
            raise CheckpointError(f'{model_path}: not a VQGAN checkpoint')
        codebook, emb_dim = state['quantize.embedding.weight'].shape
        nf = state['encoder.blocks.0.weight'].shape[0]
        net = VQAutoEncoder(size, nf, codebook_size=codebook, emb_dim=emb_dim, attn_resolutions=(size // 32, ))
        load_network_weights(net, model_path)
        self.device = select_device(device)
        self.net = prepare_for_inference(net, self.device)
        self.size = size

    def reconstruct(self, faces: Sequence[np.ndarray]) -> list[np.ndarray]:
        """``size`` square BGR faces of each input's dtype."""
        with torch.inference_mode():
            out = self.net(faces_to_tensor(list(faces), self.size, self.device))[0]
        return tensor_to_faces(out, [f.dtype for f in faces])
