"""Datasets, registered in basicsr's DATASET_REGISTRY so option files name them by ``type``."""
from codeformer.data.ffhq_blind_dataset import FFHQBlindDataset, FFHQBlindJointDataset

__all__ = ['FFHQBlindDataset', 'FFHQBlindJointDataset']
