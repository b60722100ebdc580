"""RDINetModule configurations and RDINetClassifier on the synthetic cohort (CPU-sized)."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_score

from rdinet_sklearn.datasets import CLINICAL_COLUMNS
from rdinet_sklearn.nn import RDINetClassifier, RDINetModule
from rdinet_sklearn.nn._rdinet_module import FUSIONS

TINY_MODULE = {"depth": 10, "widen_factor": 0.25}
TINY = {
    "depth": 10,
    "volume_size": (8, 24, 24),
    "max_epochs": 1,
    "batch_size": 8,
    "module__widen_factor": 0.25,
    "random_state": 0,
}


def _numeric_clinical(cases):
    return [c for c in CLINICAL_COLUMNS if c in cases and pd.api.types.is_numeric_dtype(cases[c])]


@pytest.fixture(scope="module")
def clinical_cases(small_cohort):
    """Case table with the two path columns and the numeric clinical columns."""
    cases, y = small_cohort
    return cases[["image", "mask", *_numeric_clinical(cases)]], y


# -- the torch module ------------------------------------------------------------------------


@pytest.mark.parametrize("fusion", FUSIONS)
def test_every_fusion_gives_two_logits_and_a_d_wide_embedding(fusion):
    torch.manual_seed(0)
    net = RDINetModule(in_channels=2, n_tabular=5, fusion=fusion, d=16, **TINY_MODULE).eval()
    volume, tabular = torch.randn(3, 2, 8, 24, 24), torch.randn(3, 5)
    assert net(volume, tabular).shape == (3, 2)
    assert net.features(volume, tabular).shape == (3, net.feature_dim) == (3, 16)


def test_branches_present_match_the_configuration():
    def has(net, name):
        return hasattr(net, name)

    image = RDINetModule(fusion="image", **TINY_MODULE)
    tabular = RDINetModule(n_tabular=4, fusion="tabular", **TINY_MODULE)
    film = RDINetModule(n_tabular=4, fusion="film", **TINY_MODULE)
    assert has(image, "backbone") and not has(image, "tabular_mlp")
    assert has(tabular, "tabular_mlp") and not has(tabular, "backbone")
    assert film.film.generator[-1].out_features == 2 * film.projection.in_features
    # the tabular-only network is tiny: no CNN parameters at all
    assert sum(p.numel() for p in tabular.parameters()) < 20_000


def test_image_path_equals_the_backbones_own_forward():
    torch.manual_seed(1)
    net = RDINetModule(fusion="image", **TINY_MODULE).eval()
    volume = torch.randn(2, 1, 8, 24, 24)
    pooled = net.backbone.avgpool(net._feature_map(volume)).flatten(1)
    torch.testing.assert_close(pooled, net.backbone(volume))


def test_tabular_input_does_not_change_the_image_only_network():
    net = RDINetModule(fusion="image", **TINY_MODULE).eval()
    volume = torch.randn(2, 1, 8, 24, 24)
    torch.testing.assert_close(net(volume), net(volume, torch.randn(2, 3)))


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_k_and_shared_weights_reach_the_dynamic_mapping(k):
    separate = RDINetModule(n_tabular=3, fusion="tabular", **TINY_MODULE)  # no fuse block
    assert not hasattr(separate, "fuse")
    nets = {
        shared: RDINetModule(n_tabular=3, k=k, shared_weights=shared, d=8, **TINY_MODULE)
        for shared in (False, True)
    }
    sizes = {s: sum(p.numel() for p in n.fuse.parameters()) for s, n in nets.items()}
    assert sizes[False] == k * sizes[True]
    assert len(nets[False].fuse.iterations) == k and nets[False].fuse.k == k


def test_module_rejects_bad_configurations():
    with pytest.raises(ValueError, match="fusion must be one of"):
        RDINetModule(n_tabular=3, fusion="sum")
    with pytest.raises(ValueError, match="needs tabular inputs"):
        RDINetModule(n_tabular=0, fusion="dynamic", **TINY_MODULE)
    with pytest.raises(ValueError, match="needs the 'tabular' input"):
        RDINetModule(n_tabular=3, **TINY_MODULE)(torch.zeros(1, 1, 8, 24, 24))


# -- the classifier --------------------------------------------------------------------------


def test_fit_predict_shapes_and_parameters(clinical_cases):
    X, y = clinical_cases
    clf = RDINetClassifier(roi=("MR", "LR"), k=2, **TINY).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert set(clf.predict(X)) <= {0, 1}
    assert list(clf.tabular_features_in_) == _numeric_clinical(X)
    assert clf.module_.fuse.k == 2 and clf.module_.feature_dim == 32
    assert clf.transform(X).shape == (len(X), 32)
    assert clf.get_feature_names_out()[0] == "rdinet_feature_0"
    # top-level parameters are sklearn parameters, module__ overrides still reach the module
    params = clone(clf).set_params(k=4, fusion="concat", module__d=8).get_params()
    assert (params["k"], params["fusion"], params["module__d"]) == (4, "concat", 8)


def test_module_double_underscore_parameters_take_precedence(clinical_cases):
    X, y = clinical_cases
    clf = RDINetClassifier(roi=("MR", "LR"), fusion="tabular", **TINY, module__d=8).fit(X, y)
    assert clf.module_.feature_dim == 8


def test_string_labels(clinical_cases):
    X, y = clinical_cases
    labels = np.where(y == 1, "responder", "non-responder")
    clf = RDINetClassifier(roi=("MR", "LR"), fusion="concat", **TINY).fit(X, labels)
    assert list(clf.classes_) == ["non-responder", "responder"]
    assert set(clf.predict(X)) <= {"non-responder", "responder"}


def test_repeatable_with_random_state_and_pickle_round_trip(clinical_cases):
    X, y = clinical_cases
    first = RDINetClassifier(roi=("MR", "LR"), fusion="film", **TINY).fit(X, y)
    second = clone(first).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    restored = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(restored.predict_proba(X), first.predict_proba(X))


def test_tabular_only_reads_no_volume(clinical_cases):
    X, y = clinical_cases
    without_files = X.assign(image="/nowhere/image.nii.gz", mask="/nowhere/mask.nii.gz")
    clf = RDINetClassifier(roi=("MR", "LR"), fusion="tabular", **TINY).fit(without_files, y)
    assert clf.predict_proba(without_files).shape == (len(X), 2)


def test_image_only_ignores_tabular_columns(clinical_cases):
    X, y = clinical_cases
    clf = RDINetClassifier(roi=("MR", "LR"), fusion="image", **TINY).fit(X[["image", "mask"]], y)
    assert len(clf.tabular_features_in_) == 0
    assert clf.predict_proba(X).shape == (len(X), 2)


def test_errors_name_the_problem(clinical_cases):
    X, y = clinical_cases
    clf = RDINetClassifier(roi=("MR", "LR"), fusion="tabular", **TINY)
    with pytest.raises(ValueError, match="needs tabular inputs.*fusion='image'"):
        clone(clf).fit(X[["image", "mask"]], y)
    with pytest.raises(ValueError, match=r"\['sex'\] are not numeric.*OneHotEncoder"):
        clone(clf).fit(X.assign(sex="F"), y)
    broken = X.copy()
    broken.loc[broken.index[[1, 3]], "age"] = np.nan
    rows = broken.index[[1, 3]].tolist()
    with pytest.raises(ValueError, match=rf"'age' in rows {rows!r}".replace("[", r"\[")):
        clone(clf).fit(broken, y)
    fitted = clone(clf).fit(X, y)
    with pytest.raises(ValueError, match=r"\['cas'\] seen in fit are missing"):
        fitted.predict_proba(X.drop(columns="cas"))
    with pytest.raises(ValueError, match="'age' in rows"):
        fitted.predict(broken)
    with pytest.raises(ValueError, match="k"):
        RDINetClassifier(k=0, **TINY).fit(X, y)


# -- learning signal -------------------------------------------------------------------------


def test_dynamic_fusion_learns_and_permuted_labels_stay_near_chance(medium_cohort):
    # The comparison with radiomics alone and image alone at the study's cohort size (means,
    # spreads and paired intervals over repeated folds) is benchmarks/bench_rdinet_accuracy.py,
    # and the fusion ablation is examples/plot_rdinet_ablation.py; this is the cheap check
    # that the default model learns at all, and that the protocol does not leak.
    cases, y = medium_cohort
    X = cases[["image", "mask", *_numeric_clinical(cases)]]
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    rdinet = RDINetClassifier(roi=("MR", "LR"), **{**TINY, "max_epochs": 10})

    def auc(target):
        return cross_val_score(rdinet, X, target, cv=cv, scoring="roc_auc").mean()

    rng = np.random.default_rng(0)
    control = np.mean([auc(rng.permutation(y.to_numpy())) for _ in range(5)])
    assert auc(y) > 0.65
    assert abs(control - 0.5) < 0.15


@pytest.mark.slow
def test_must_work_grid_search_over_k_and_fusion(small_cohort):
    from sklearn.compose import ColumnTransformer
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import StandardScaler

    from rdinet_sklearn import (
        LassoSelector,
        RadiomicsExtractor,
        RDINetClassifier,
        ReproducibilityFilter,
        TTestSelector,
    )

    cases, y = small_cohort
    CLINICAL_NUMERIC_COLUMNS = _numeric_clinical(cases)  # the snippet's name
    # -- the snippet, as written --
    radiomics = make_pipeline(
        RadiomicsExtractor(roi=("MR", "LR"), reference_mask_column="mask_rater2"),
        ReproducibilityFilter(),
        TTestSelector(),
        LassoSelector(),
        StandardScaler(),
    )
    features = ColumnTransformer(
        [
            ("radiomics", radiomics, ["image", "mask", "mask_rater2"]),
            ("clinical", StandardScaler(), CLINICAL_NUMERIC_COLUMNS),
            ("volumes", "passthrough", ["image", "mask"]),
        ],
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    rdinet = Pipeline(
        [
            ("features", features),
            ("clf", RDINetClassifier(roi=("MR", "LR"), k=3, volume_size=(32, 128, 128))),
        ]
    )
    # -- CPU sizes --
    rdinet.set_params(
        clf__volume_size=(8, 24, 24),
        clf__depth=10,
        clf__max_epochs=1,
        clf__module__widen_factor=0.25,
        features__radiomics__radiomicsextractor__progress=False,
    )
    search = GridSearchCV(
        rdinet,
        {"clf__k": [1, 2, 3], "clf__fusion": ["dynamic", "concat"]},
        cv=StratifiedKFold(5),
        scoring="roc_auc",
    ).fit(cases, y)

    assert len(search.cv_results_["params"]) == 6
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_estimator_.named_steps["clf"]
    assert best.k == search.best_params_["clf__k"]
    tabular = list(best.tabular_features_in_)
    assert set(CLINICAL_NUMERIC_COLUMNS) <= set(tabular)
    assert any(c.startswith("MR+LR_") for c in tabular)  # selected radiomics features
    assert search.predict_proba(cases).shape == (len(cases), 2)
