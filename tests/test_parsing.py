"""Face parsing for the paste mask: batched ParseNet with its BatchNorms folded into the convolutions."""
import numpy as np
import pytest
import torch

from codeformer.parsing import FaceParser, build_parsenet, fold_batchnorm
from codeformer.paste import parsing_soft_mask

pytestmark = pytest.mark.slow  # the full-size ParseNet at 512 px (~50 s)


def seeded_parsenet():
    torch.manual_seed(0)
    net = build_parsenet().eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):  # non-trivial statistics, so folding has work to do
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return net


def test_folding_keeps_the_function():
    net = seeded_parsenet()
    x = torch.rand(1, 3, 512, 512) * 2 - 1
    with torch.inference_mode():
        before = net(x)[0]
        folded = fold_batchnorm(seeded_parsenet())
        after = folded(x)[0]
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    torch.testing.assert_close(after, before, atol=1e-3, rtol=1e-3)


def test_masks_are_batched_and_512_px():
    parser = FaceParser(torch.device('cpu'), batch_size=2, net=seeded_parsenet())
    faces = [np.full((512, 512, 3), v, np.uint8) for v in (40, 120)] + [np.full((64, 64, 3), 200, np.uint8)]
    masks = parser.masks(faces)
    assert [m.shape for m in masks] == [(512, 512)] * 3  # the paste resizes them to each face
    assert all(m.dtype == np.float64 and 0 <= m.min() and m.max() <= 1 for m in masks)
    with torch.inference_mode():
        x = (torch.full((1, 3, 512, 512), 40 / 255) * 2 - 1)
        labels = parser.net(x.contiguous(memory_format=torch.channels_last))[0].argmax(1)[0].numpy()
    np.testing.assert_allclose(masks[0], parsing_soft_mask(labels), atol=1e-6)
