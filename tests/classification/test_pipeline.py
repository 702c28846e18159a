from __future__ import annotations

import numpy as np
import pytest
import torch

from hsi.classification import GanConfig, evaluate_class_map, load_classifier, train_classifier
from hsi.errors import FormatError, GridError, ModelError, ShapeError


def test_held_out_accuracy_well_above_chance(trained, salinas_crop, salinas_split):
    cube, _, names = salinas_crop
    _, test = salinas_split
    plain, prob = trained.predict(cube, use_crf=False)
    refined, _ = trained.predict(cube, use_crf=True)
    oa_plain = evaluate_class_map(plain, test, names).oa
    oa_crf = evaluate_class_map(refined, test, names).oa
    # 6 classes: chance is ~17 %; the SVM reaches ~96 % on the full scene with 5 labels/class
    assert oa_plain > 85.0
    assert oa_crf > 85.0
    assert prob.shape == (6, *test.shape)
    np.testing.assert_allclose(prob.sum(0), 1.0, atol=1e-5)


def test_class_zero_never_predicted_for_valid_pixels(trained, salinas_crop):
    cube, labels, _ = salinas_crop
    for use_crf in (False, True):
        class_map, _ = trained.predict(cube, use_crf=use_crf)
        assert class_map.dtype == np.uint8
        assert class_map.min() >= 1 and class_map.max() <= 6
        assert (class_map[labels > 0] > 0).all()


def test_nodata_pixels_are_not_classified(trained, salinas_crop):
    cube, _, _ = salinas_crop
    data = np.array(cube.data, dtype=np.float32)
    data[:, 5:9, 10:20] = np.nan
    data[:, 30, 40] = -1.0
    holey = cube.with_data(data, nodata=-1.0)
    for use_crf in (False, True):
        class_map, prob = trained.predict(holey, use_crf=use_crf)
        assert (class_map[5:9, 10:20] == 0).all() and class_map[30, 40] == 0
        assert (prob[:, 5:9, 10:20] == 0).all()
        assert (class_map > 0).sum() == class_map.size - 41


def test_tiles_match_whole_scene(trained, salinas_crop):
    cube, _, _ = salinas_crop
    whole, pw = trained.predict(cube, use_crf=False)
    tiled, pt = trained.predict(cube, use_crf=False, tile=16)
    np.testing.assert_array_equal(whole, tiled)
    np.testing.assert_allclose(pw, pt, atol=1e-6)
    crf_whole, _ = trained.predict(cube, use_crf=True, tile=512)
    crf_tiled, _ = trained.predict(cube, use_crf=True, tile=16)
    assert (crf_whole == crf_tiled).mean() > 0.98


def test_save_load_roundtrip(trained, salinas_crop, tmp_path):
    cube, _, _ = salinas_crop
    path = trained.save(tmp_path / "m.pt")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    assert payload["meta"]["bands"] == 204 and len(payload["meta"]["class_names"]) == 6
    assert len(payload["meta"]["wavelengths"]) == 204
    clf = load_classifier(path, device="cpu")
    assert clf.config == trained.config and clf.class_names == trained.class_names
    a, pa = trained.predict(cube)
    b, pb = clf.predict(cube)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(pa, pb, atol=1e-6)


def test_default_input_is_the_spectral_shape_and_brightness(trained, tmp_path):
    assert trained.config.spectra == "shape"
    assert trained.pca.unit_norm and trained.pca.channels == trained.pca.n_components + 1
    assert GanConfig().members == 5 and GanConfig().spectra == "shape"  # LOSO, 2026-12-05
    assert trained.model.body[0].in_channels == trained.pca.channels
    payload = torch.load(trained.save(tmp_path / "m.pt"), map_location="cpu",
                         weights_only=True)
    assert payload["meta"]["pca_unit_norm"] is True
    assert len(payload["meta"]["pca_brightness"]) == 2


def test_checkpoint_from_before_the_spectra_option_loads_as_raw(salinas_crop, salinas_split,
                                                                  tmp_path):
    """A checkpoint without ``spectra`` in its config (older hsikit) was trained on raw
    spectra: it loads as ``spectra="raw"`` and predicts as before, not as the new default."""
    cube, _, _ = salinas_crop
    train, _ = salinas_split
    raw = train_classifier(cube, train, config=GanConfig(spectra="raw", crf_select="fixed"),
                           epochs=1, seed=0, device="cpu", progress=False)
    path = raw.save(tmp_path / "old.pt")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    del payload["config"]["spectra"]
    del payload["meta"]["pca_unit_norm"], payload["meta"]["pca_brightness"]
    torch.save(payload, path)
    old = load_classifier(path, device="cpu")
    assert old.config.spectra == "raw" and not old.pca.unit_norm
    assert old.pca.brightness is None
    np.testing.assert_allclose(old.predict(cube, use_crf=False)[1],
                               raw.predict(cube, use_crf=False)[1], atol=1e-6)


def test_band_mismatch(trained, salinas_crop):
    cube, _, _ = salinas_crop
    with pytest.raises(ModelError, match="204 bands"):
        trained.predict(cube.with_data(np.asarray(cube.data)[:100], wavelengths=None, fwhm=None))


def test_deterministic_on_cpu(salinas_crop, salinas_split):
    cube, _, _ = salinas_crop
    train, _ = salinas_split
    one = GanConfig(members=1)
    a = train_classifier(cube, train, epochs=1, seed=7, device="cpu", progress=False, config=one)
    b = train_classifier(cube, train, epochs=1, seed=7, device="cpu", progress=False, config=one)
    for (ka, va), (_, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items(),
                                 strict=True):
        assert torch.equal(va, vb), ka


def test_supervised_only_config(salinas_crop, salinas_split):
    cube, _, _ = salinas_crop
    train, test = salinas_split
    cfg = GanConfig(adversarial=False, epochs=2, members=1)
    clf = train_classifier(cube, train, config=cfg, seed=0, device="cpu", progress=False)
    assert clf.history["fake"] == [0.0, 0.0] and clf.history["supervised"][-1] < 1.0
    assert evaluate_class_map(clf.predict(cube, use_crf=False)[0], test).oa > 60.0


class TestBadLabels:
    def test_other_shape(self, salinas_crop):
        cube, labels, _ = salinas_crop
        with pytest.raises(ShapeError, match="42×64"):
            train_classifier(cube, labels[:-1], progress=False)

    def test_fewer_than_two_classes(self, salinas_crop):
        cube, labels, _ = salinas_crop
        with pytest.raises(FormatError, match="at least two classes"):
            train_classifier(cube, (labels == 3).astype(int), progress=False)

    def test_class_without_pixels(self, salinas_crop):
        cube, labels, names = salinas_crop
        with pytest.raises(FormatError, match=r"class 7 \(extra\) has no labelled pixel"):
            train_classifier(cube, labels, class_names=[*names, "extra"], progress=False)
        with pytest.raises(FormatError, match=r"classes 7 \(x\), 8 \(y\) have no labelled"):
            train_classifier(cube, labels, class_names=[*names, "x", "y"], progress=False)
        # without names, a missing value is just a code that is not used (codes 1, 3, 4...)
        from hsi.classification.pipeline import class_codes

        gap = np.where(labels == 2, 0, labels)
        codes, gap_names = class_codes(gap)
        assert 2 not in codes and codes == sorted(set(np.unique(gap).tolist()) - {0})
        assert gap_names == [f"class {c}" for c in codes]

    def test_other_grid(self, salinas_crop):
        from affine import Affine

        from hsi.classification.pipeline import check_labels

        cube, labels, _ = salinas_crop
        geo = cube.with_data(cube.data, crs="EPSG:32610", transform=Affine(3.7, 0, 6e5, 0, -3.7,
                                                                          4e6))
        with pytest.raises(GridError):
            check_labels(labels, geo, labels_crs=geo.crs,
                         labels_transform=Affine(3.7, 0, 6e5 + 37, 0, -3.7, 4e6))


def test_members_average_their_probabilities_and_round_trip(salinas_crop, salinas_split,
                                                            tmp_path):
    from hsi.classification.gan import DiscriminatorEnsemble
    from hsi.classification.train import predict_probabilities

    cube, _, _ = salinas_crop
    train, _ = salinas_split
    clf = train_classifier(cube, train, config=GanConfig(members=2, crf_select="fixed"),
                           epochs=1, seed=0, device="cpu", progress=False)
    assert isinstance(clf.model, DiscriminatorEnsemble) and len(clf.model.members) == 2
    features = clf.pca.transform(np.asarray(cube.data, dtype=np.float32))
    each = [predict_probabilities(m, features, clf.config.patch_size) for m in clf.model.members]
    assert np.abs(each[0] - each[1]).max() > 1e-3  # two seeds, two networks
    _, prob = clf.predict(cube, use_crf=False)
    np.testing.assert_allclose(prob, (each[0] + each[1]) / 2, atol=1e-6)
    loaded = load_classifier(clf.save(tmp_path / "ens.pt"), device="cpu")
    assert loaded.config.members == 2
    np.testing.assert_allclose(loaded.predict(cube, use_crf=False)[1], prob, atol=1e-6)
