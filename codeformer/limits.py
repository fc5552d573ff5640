"""How large a whole-image result will be, so that a run can refuse it before any work (``max_pixels``)."""
from __future__ import annotations

FACE_SIZE = 512  # photos whose short side is smaller are enlarged to it before detection (as the official does)


def enhanced_size(enhancer, height: int, width: int) -> tuple[int, int]:
    """(height, width) of ``FaceEnhancer.enhance``'s result for an input of ``height`` x ``width``.

    The enhancer's own ``output_size`` when it has one; else an upper bound: ``upscale`` times the input, enlarged
    first to a short side of 512 when it is smaller.
    """
    own = getattr(enhancer, 'output_size', None)
    if callable(own):
        return tuple(own(height, width))
    scale = enhancer.upscale * max(1.0, FACE_SIZE / max(1, min(height, width)))
    return round(height * scale), round(width * scale)
