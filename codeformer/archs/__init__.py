"""Networks, registered in basicsr's ARCH_REGISTRY so option files name them by ``type``."""
from codeformer.archs.codeformer_arch import CodeFormer
from codeformer.archs.vqgan_arch import VectorQuantizer, VQAutoEncoder, VQGANDiscriminator

__all__ = ['CodeFormer', 'VQAutoEncoder', 'VectorQuantizer', 'VQGANDiscriminator']
