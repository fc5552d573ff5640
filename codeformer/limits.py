"""How large a whole-image result will be, so that a run can refuse it before any work (``max_pixels``)."""
from __future__ import annotations


def enhanced_size(enhancer, height: int, width: int) -> tuple[int, int]:
    """(height, width) of ``FaceEnhancer.enhance``'s result for an input of ``height`` x ``width``
    (``FaceEnhancer.output_size``: small photos are enlarged to a shorter side of 512 first, then upscaled)."""
    return tuple(enhancer.output_size(height, width))
