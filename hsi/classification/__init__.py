"""Semi-supervised spectral-spatial GAN + dense-CRF classification of hyperspectral scenes.

After Zhong and Li, "Generative adversarial networks and probabilistic graph models for
hyperspectral image classification" (2018) and Zhong, Li, Clausi and Wong, IEEE Transactions on
Cybernetics 50(7), 2020: a (K + 1)-way discriminator trained on a few labelled and all
unlabelled pixels of a scene, refined by a fully connected CRF.

>>> from hsi.classification import GanConfig, train_classifier
>>> from hsi.data import sample_cube, sample_labels
>>> cube = sample_cube(); labels, names = sample_labels()
>>> quick = GanConfig(epochs=1, min_steps=20, members=1, patch_select="fixed", crf_select="fixed")
>>> clf = train_classifier(cube, labels, class_names=names, config=quick)  # a quick demo fit
>>> class_map, prob = clf.predict(cube)
>>> class_map.shape, prob.shape
((83, 86), (6, 83, 86))

The names below are loaded on first use (PEP 562): the light submodules (evaluation, splits,
configuration) import without torch, so ``hsi classify evaluate`` and ``split`` and the
commands' error paths answer in a fraction of a second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hsi.lazy import lazy_attributes

if TYPE_CHECKING:
    from hsi.classification.config import GanConfig
    from hsi.classification.evaluate import ClassificationReport, evaluate_class_map
    from hsi.classification.pipeline import (
        Classifier,
        demo_classification,
        load_classifier,
        train_classifier,
    )
    from hsi.classification.splits import split_labels

#: Public name → the module that defines it.
_EXPORTS = {
    "ClassificationReport": "hsi.classification.evaluate",
    "Classifier": "hsi.classification.pipeline",
    "GanConfig": "hsi.classification.config",
    "demo_classification": "hsi.classification.pipeline",
    "evaluate_class_map": "hsi.classification.evaluate",
    "load_classifier": "hsi.classification.pipeline",
    "split_labels": "hsi.classification.splits",
    "train_classifier": "hsi.classification.pipeline",
}

__all__ = ["ClassificationReport", "Classifier", "GanConfig", "demo_classification",
           "evaluate_class_map", "load_classifier", "split_labels", "train_classifier"]


__getattr__, __dir__ = lazy_attributes(__name__, _EXPORTS)
