"""The post's preprocessing, as :mod:`glassnet.datasets` users first met it.

Standardization and one-hot labels belong to the core; they live in :mod:`glassnet.preprocess`, and
this module names them here too.
"""

from glassnet.preprocess import Standardizer, flatten_images, input_scaling, one_hot

__all__ = ["Standardizer", "flatten_images", "input_scaling", "one_hot"]
