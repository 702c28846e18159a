"""Registered datasets and the shipped sample.

>>> from hsi import data
>>> cube = data.sample_cube()                 # the shipped Salinas-A scene
>>> cube.shape
(204, 83, 86)
>>> s = data.load("samson")                   # doctest: +SKIP
>>> s.cube.shape, s.class_names               # doctest: +SKIP
((156, 95, 95), ['rock', 'tree', 'water'])

Data is read from :func:`data_dir`: ``$HSI_DATA_DIR``, else ``../shared/data`` beside the
repository root, else ``~/.cache/hsikit``. Missing files are downloaded (``download=True``,
``hsi data fetch NAME``) from the registered URLs, or from ``$HSI_DATA_MIRROR`` when set: a
base URL or folder holding the files under the data folder's layout (see
:func:`hsi.data.base.mirror_url`); every file is sha256-checked before it is kept.
"""

from hsi.data.base import Dataset, Sample, data_dir, sha256sum
from hsi.data.registry import DATASETS, get_dataset, load
from hsi.data.shipped import sample_cube, sample_labels

__all__ = ["DATASETS", "Dataset", "Sample", "data_dir", "get_dataset", "load", "sample_cube",
           "sample_labels", "sha256sum"]
