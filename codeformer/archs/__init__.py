"""Networks. They register in basicsr's ARCH_REGISTRY (so option files name them by ``type``) as soon
as basicsr is imported, without this package importing basicsr itself (see ``codeformer.compat``)."""
from codeformer.archs.codeformer_arch import CodeFormer
from codeformer.archs.vqgan_arch import VectorQuantizer, VQAutoEncoder, VQGANDiscriminator
from codeformer.compat import after_import

__all__ = ['CodeFormer', 'VQAutoEncoder', 'VectorQuantizer', 'VQGANDiscriminator']


def _register(registry_module) -> None:
    for cls in (CodeFormer, VQAutoEncoder, VectorQuantizer, VQGANDiscriminator):
        if cls.__name__ not in registry_module.ARCH_REGISTRY:
            registry_module.ARCH_REGISTRY.register(cls)


after_import('basicsr.utils.registry', _register)
