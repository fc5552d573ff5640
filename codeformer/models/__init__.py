"""Training models, registered in basicsr's MODEL_REGISTRY so option files name them by ``model_type``.

Importing this package also registers the networks and losses the models build by name.
"""
import codeformer.archs  # noqa: F401  isort: skip
import codeformer.losses  # noqa: F401  isort: skip
from codeformer.models.base import OptionError
from codeformer.models.codeformer_model import CodeFormerIdxModel, CodeFormerJointModel, CodeFormerModel
from codeformer.models.vqgan_model import VQGANModel

__all__ = ['OptionError', 'CodeFormerIdxModel', 'CodeFormerJointModel', 'CodeFormerModel', 'VQGANModel']
