"""Fully connected CRF refinement of per-pixel class probabilities (pydensecrf).

Energy: unary ``-log p`` from the classifier, a Gaussian kernel on position (smoothness) and a
bilateral kernel on position plus a few leading PCA components (appearance), both with Potts
compatibility, solved by mean-field inference (Krähenbühl and Koltun 2011).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hsi.errors import ShapeError

if TYPE_CHECKING:
    from hsi.classification.config import GanConfig


@dataclass
class CrfParams:
    """Dense-CRF kernel widths and weights (see :class:`hsi.classification.GanConfig`)."""

    iterations: int = 5
    gaussian_sxy: float = 3.0
    gaussian_weight: float = 1.0
    bilateral_sxy: float = 10.0
    bilateral_schan: float = 0.1
    bilateral_weight: float = 3.0
    confidence: float = 1.0

    @classmethod
    def from_config(cls, config: GanConfig) -> CrfParams:
        return cls(iterations=config.crf_iterations, gaussian_sxy=config.crf_gaussian_sxy,
                   gaussian_weight=config.crf_gaussian_weight,
                   bilateral_sxy=config.crf_bilateral_sxy,
                   bilateral_schan=config.crf_bilateral_schan,
                   bilateral_weight=config.crf_bilateral_weight,
                   confidence=config.crf_confidence)

    @property
    def reach(self) -> int:
        """Pixels beyond which a neighbour's influence is negligible (3 × the widest kernel)."""
        return int(np.ceil(3 * max(self.gaussian_sxy, self.bilateral_sxy)))


def crf_refine(probabilities: np.ndarray, guide: np.ndarray, params: CrfParams | None = None,
               valid: np.ndarray | None = None) -> np.ndarray:
    """Refine class probabilities with a dense CRF.

    Parameters
    ----------
    probabilities : numpy.ndarray, shape (K, H, W)
        Per-pixel class probabilities (each pixel sums to 1).
    guide : numpy.ndarray, shape (C, H, W)
        Appearance features of the bilateral kernel (a few standardised PCA components; their
        width is ``params.bilateral_schan`` in these units).
    params : CrfParams, optional
    valid : numpy.ndarray of bool, shape (H, W), optional
        Invalid pixels get a uniform unary (they neither vote nor are trusted).

    Returns
    -------
    numpy.ndarray, float32, shape (K, H, W)
        Approximate marginals after mean-field inference; ``argmax`` over axis 0 is the label.
    """
    import pydensecrf.densecrf as dcrf
    from pydensecrf.utils import create_pairwise_bilateral, unary_from_softmax

    params = params or CrfParams()
    prob = np.asarray(probabilities, dtype=np.float32)
    if prob.ndim != 3 or guide.ndim != 3 or guide.shape[1:] != prob.shape[1:]:
        raise ShapeError(
            f"crf: expected probabilities (K, H, W) and guide (C, H, W) on one grid, got "
            f"{prob.shape} and {guide.shape}"
        )
    k, h, w = prob.shape
    if valid is not None:
        prob = np.where(valid[None], prob, np.float32(1.0 / k))
    scale = params.confidence if params.confidence < 1 else None
    unary = np.ascontiguousarray(unary_from_softmax(prob, scale=scale))
    crf = dcrf.DenseCRF2D(w, h, k)
    crf.setUnaryEnergy(unary)
    if params.gaussian_weight > 0:
        crf.addPairwiseGaussian(sxy=params.gaussian_sxy, compat=params.gaussian_weight)
    guide = np.asarray(guide, dtype=np.float32)
    if valid is not None:
        guide = np.where(valid[None], guide, np.float32(0.0))
    feats = create_pairwise_bilateral(
        sdims=(params.bilateral_sxy, params.bilateral_sxy),
        schan=(params.bilateral_schan,) * guide.shape[0], img=guide, chdim=0,
    )
    if params.bilateral_weight > 0:
        crf.addPairwiseEnergy(np.ascontiguousarray(feats, dtype=np.float32),
                              compat=params.bilateral_weight)
    q = crf.inference(params.iterations)
    return np.asarray(q, dtype=np.float32).reshape(k, h, w)
