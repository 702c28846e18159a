"""Unsupervised clustering of hyperspectral scenes.

>>> from hsi.clustering import cluster, evaluate
>>> from hsi.data import sample_cube, sample_labels
>>> cube = sample_cube(); labels, names = sample_labels()
>>> result = cluster(cube, 6, method="spectralnet", seed=0)
>>> result.labels.shape, int(result.labels.max())
((83, 86), 6)
>>> evaluate(result.labels, labels)
{'acc': ..., 'nmi': ..., 'ari': ..., 'pixels': ...}

Methods: ``kmeans`` and ``spectral`` (scikit-learn baselines), ``spectralnet`` (Shaham et al.),
``cc`` (Contrastive Clustering, Li et al.), ``agc`` (adaptive graph convolution on a superpixel
graph), ``mincut`` (minCUT pooling GNN), ``dinknet`` (Dink-Net, mini-batch, scales to millions
of pixels). All work on :func:`hsi.clustering.features.pixel_features`.
:func:`cluster_file` clusters a cube file into a class map file.
"""

from hsi.clustering.api import METHODS, SCALABLE_METHODS, ClusterResult, check_k, cluster
from hsi.clustering.auto_k import estimate_k
from hsi.clustering.evaluate import clustering_accuracy, evaluate, match_clusters
from hsi.clustering.files import cluster_file

__all__ = ["METHODS", "SCALABLE_METHODS", "ClusterResult", "check_k", "cluster", "cluster_file",
           "clustering_accuracy", "estimate_k", "evaluate", "match_clusters"]
