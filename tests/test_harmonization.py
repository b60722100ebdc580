"""Tests of ComBat harmonization (rdinet_sklearn.harmonization)."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from rdinet_sklearn.harmonization import ComBatHarmonizer, HarmonizationWarning

FEATURES = [f"f{j}" for j in range(12)]


def two_centers(n_a=40, n_b=40, *, seed=0, shift=3.0, scale=2.0, offset_sd=0.5):
    """Standard-normal features; center B's scanner multiplies them by ``scale`` and adds
    a per-feature offset, normal around ``shift`` with SD ``offset_sd``."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n_a + n_b, len(FEATURES))), columns=FEATURES)
    X["center"] = ["A"] * n_a + ["B"] * n_b
    at_b = X["center"] == "B"
    offsets = shift + rng.normal(0, offset_sd, len(FEATURES))
    X.loc[at_b, FEATURES] = X.loc[at_b, FEATURES] * scale + offsets
    return X


def per_center(frame, centers, stat):
    return frame[FEATURES].groupby(np.asarray(centers)).agg(stat)


@pytest.fixture(autouse=True)
def _quiet_small_batches():
    # Most tests use small batches on purpose; the warning itself is tested below.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "batch.*fewer than", HarmonizationWarning)
        yield


def test_removes_location_and_scale_differences():
    X = two_centers(300, 300, offset_sd=0.2)
    out = ComBatHarmonizer().set_output(transform="pandas").fit_transform(X)
    assert list(out.columns) == FEATURES
    means, sds = per_center(out, X["center"], "mean"), per_center(out, X["center"], "std")
    raw_means, raw_sds = per_center(X, X["center"], "mean"), per_center(X, X["center"], "std")
    raw_gap = (raw_means.loc["B"] - raw_means.loc["A"]).abs()
    assert raw_gap.min() > 1 and (raw_sds.loc["B"] / raw_sds.loc["A"]).min() > 1.3
    # Empirical Bayes pulls each feature's offset towards the batch's average offset, so a
    # little of the feature-to-feature variation of the offsets (SD 0.2 here) remains.
    assert ((means.loc["B"] - means.loc["A"]).abs() < 0.1 * raw_gap).all()
    np.testing.assert_allclose(sds.loc["A"], sds.loc["B"], rtol=0.15)


def test_unshrunk_estimates_equal_per_batch_standardisation():
    # prior="none" is location/scale ComBat: within-batch z-scores on the pooled scale.
    X = two_centers(30, 50)
    out = ComBatHarmonizer(prior="none").fit_transform(X)
    groups = X.groupby("center")[FEATURES]
    z = (X[FEATURES] - groups.transform("mean")) / groups.transform("std")
    pooled_sd = np.sqrt(((X[FEATURES] - groups.transform("mean")) ** 2).mean())
    np.testing.assert_allclose(out, X[FEATURES].mean() + z * pooled_sd, rtol=1e-10)


@pytest.mark.parametrize("prior", ["parametric", "nonparametric"])
def test_empirical_bayes_shrinks_towards_the_batch_prior(prior):
    X = two_centers(6, 6, seed=3)
    unshrunk = ComBatHarmonizer(prior="none").fit(X)
    shrunk = ComBatHarmonizer(prior=prior).fit(X)
    for b in range(2):
        prior_mean = unshrunk.gamma_[b].mean()
        distance_before = np.abs(unshrunk.gamma_[b] - prior_mean)
        distance_after = np.abs(shrunk.gamma_[b] - prior_mean)
        assert distance_after.sum() < 0.9 * distance_before.sum()
        if prior == "parametric":  # a normal posterior mean lies between data and prior
            assert np.all(distance_after <= distance_before + 1e-12)
    if prior == "parametric":  # with many samples per batch the data dominate the prior
        large = two_centers(400, 400, seed=3)
        np.testing.assert_allclose(
            ComBatHarmonizer(prior=prior).fit(large).gamma_,
            ComBatHarmonizer(prior="none").fit(large).gamma_,
            atol=0.05,
        )


def test_covariates_are_preserved_and_dropped_from_the_output():
    rng = np.random.default_rng(1)
    n = 120
    center = np.repeat(["A", "B"], n // 2)
    age = np.where(center == "A", rng.normal(40, 8, n), rng.normal(60, 8, n))  # confounded
    sex = rng.choice(["F", "M"], n)
    signal = 0.05 * age + 0.8 * (sex == "M") + rng.normal(0, 0.3, (len(FEATURES), n))
    X = pd.DataFrame(signal.T, columns=FEATURES).assign(center=center, age=age, sex=sex)
    X.loc[center == "B", FEATURES] += 1.0  # the scanner effect

    def age_slope(frame):
        design = np.column_stack([np.ones(n), age, sex == "M"])
        return np.linalg.lstsq(design, frame[FEATURES].to_numpy(), rcond=None)[0][1]

    protected = ComBatHarmonizer(covariates=["age", "sex"]).set_output(transform="pandas")
    out = protected.fit_transform(X)
    assert list(out.columns) == FEATURES
    assert protected.covariate_terms_ == ["age", "sex=M"]
    np.testing.assert_allclose(age_slope(out), 0.05, atol=0.01)
    assert protected.coef_[1].mean() == pytest.approx(0.8, abs=0.1)
    naive = ComBatHarmonizer().fit(X.drop(columns=["age", "sex"]))
    naive_out = pd.DataFrame(naive.transform(X.drop(columns=["age", "sex"])), columns=FEATURES)
    assert np.all(age_slope(naive_out) < 0.035)  # without the covariate, age is removed too


def test_unseen_batch_raises_by_default_naming_it():
    harmonizer = ComBatHarmonizer().fit(two_centers())
    new = two_centers(0, 15, seed=5).assign(center="C")
    with pytest.raises(ValueError, match=r"batch\(es\) 'C' \(15 rows\) of column 'center'.*"):
        harmonizer.transform(new)


def test_unseen_batch_is_estimated_from_its_own_rows():
    X = two_centers(seed=2)
    harmonizer = ComBatHarmonizer(unseen="estimate").fit(X)
    rows_b = X[X["center"] == "B"]
    # A new center with the very same data as B is harmonized exactly as B is.
    np.testing.assert_allclose(
        harmonizer.transform(rows_b.assign(center="B2")), harmonizer.transform(rows_b)
    )
    # A third scanner's cohort lands on the training reference.
    new = two_centers(0, 40, seed=7, shift=-5, scale=0.5).assign(center="C")
    mixed = pd.concat([X.iloc[:10], new])
    out = pd.DataFrame(harmonizer.transform(mixed), columns=FEATURES, index=mixed.index)
    reference = pd.DataFrame(harmonizer.transform(X), columns=FEATURES)
    np.testing.assert_allclose(out.iloc[10:].mean(), reference.mean(), atol=0.15)
    np.testing.assert_allclose(out.iloc[10:].std(), reference.std(), rtol=0.15)
    np.testing.assert_allclose(out.iloc[:10], reference.iloc[:10])  # fitted batches unchanged


def test_unseen_batch_size_limits():
    harmonizer = ComBatHarmonizer(unseen="estimate").fit(two_centers())
    new = two_centers(0, 5, seed=5).assign(center="C")
    with pytest.warns(HarmonizationWarning, match=r"'C' \(5 samples\).*unseen in fit"):
        harmonizer.transform(new)
    with pytest.raises(ValueError, match=r"'C' \(1 samples\).*in transform.*at least 2"):
        harmonizer.transform(new.iloc[:1])


def test_small_and_single_batches_in_fit():
    with pytest.warns(HarmonizationWarning, match=r"'B' \(6 samples\).*in fit"):
        ComBatHarmonizer().fit(two_centers(40, 6))
    with pytest.raises(ValueError, match=r"'B' \(1 samples\) of column 'center' in fit"):
        ComBatHarmonizer().fit(two_centers(40, 1))
    single = two_centers(40, 0)
    with pytest.warns(HarmonizationWarning, match="every training row is in batch 'A'"):
        ComBatHarmonizer().fit(single)
    with warnings.catch_warnings():
        warnings.simplefilter("error", HarmonizationWarning)
        harmonizer = ComBatHarmonizer(unseen="estimate").fit(single)
    # One training batch is its own reference: the output differs from the input only by
    # ComBat's two variance conventions (pooled: 1/n, per batch: 1/(n - 1)).
    deviation = single[FEATURES] - single[FEATURES].mean()
    expected = single[FEATURES].mean() + deviation * np.sqrt(39 / 40)
    np.testing.assert_allclose(harmonizer.transform(single), expected, rtol=1e-9)


def test_missing_values_are_ignored_and_kept():
    X = two_centers(seed=4)
    X.loc[[0, 1, 2, 50, 51], "f3"] = np.nan
    harmonizer = ComBatHarmonizer(prior="none")
    out = pd.DataFrame(harmonizer.fit_transform(X), columns=FEATURES)
    np.testing.assert_array_equal(out.isna(), X[FEATURES].isna())
    finite = X["f3"].notna()
    alone = ComBatHarmonizer(prior="none").fit_transform(X.loc[finite, ["f3", "center"]])
    np.testing.assert_allclose(out.loc[finite, "f3"], alone[:, 0])
    X.loc[X["center"] == "B", "f5"] = np.nan
    X.loc[X.index[-1], "f5"] = 1.0
    with pytest.raises(ValueError, match=r"feature 'f5' has 1 non-missing value\(s\) in batch 'B'"):
        ComBatHarmonizer().fit(X)


def test_constant_feature_is_passed_through_with_a_warning():
    X = two_centers()
    X["f0"] = 7.0
    with pytest.warns(HarmonizationWarning, match=r"no variance.*\['f0'\]"):
        harmonizer = ComBatHarmonizer().fit(X)
    out = harmonizer.transform(X)
    np.testing.assert_array_equal(out[:, 0], 7.0)
    assert np.isfinite(out).all() and harmonizer.constant_features_.tolist()[:2] == [True, False]


@pytest.mark.parametrize(
    "X_change, params, match",
    [
        (lambda X: X.drop(columns="center"), {}, r"batch_column 'center' is not a column of X"),
        (lambda X: X, {"batch_column": "site"}, r"batch_column 'site' is not a column"),
        (lambda X: X.to_numpy(), {}, r"'center' is a column name, but X has no column names"),
        (lambda X: X.assign(f1=X["f1"].astype(str) + "mm"), {}, r"\['f1'\] are not numeric"),
        (
            lambda X: X.assign(f2=np.r_[np.inf, X["f2"][1:]]),
            {},
            r"inf in feature 'f2' at rows \[0\]",
        ),
        (
            lambda X: X.assign(center=[None] + list(X["center"][1:])),
            {},
            r"batch column 'center' is missing at rows \[0\]",
        ),
        (
            lambda X: X.assign(site_code=(X["center"] == "B").astype(float)),
            {"covariates": ["site_code"]},
            r"collinear with the batches",
        ),
        (lambda X: X, {"covariates": ["center"]}, r"distinct columns other than the batch"),
        (lambda X: X[["center"]], {}, r"no feature column besides"),
        (lambda X: X, {"prior": "bayes"}, r"'prior' parameter"),
    ],
)
def test_bad_input_is_named(X_change, params, match):
    X = X_change(two_centers())
    with pytest.raises(ValueError, match=match):
        ComBatHarmonizer(**params).fit(X)


def test_transform_checks_columns_and_covariate_levels():
    X = two_centers().assign(sex=lambda d: np.where(np.arange(len(d)) % 2, "F", "M"))
    harmonizer = ComBatHarmonizer(covariates=["sex"]).fit(X)
    with pytest.raises(ValueError, match=r"covariate 'sex' has level\(s\) \['X'\]"):
        harmonizer.transform(X.assign(sex="X"))
    with pytest.raises(ValueError, match="feature names"):
        harmonizer.transform(X.rename(columns={"f1": "other"}))


def test_integer_batch_column_on_arrays_and_feature_names():
    X = two_centers()
    array = X[["center", *FEATURES]].to_numpy()
    harmonizer = ComBatHarmonizer(batch_column=0).fit(array)
    np.testing.assert_allclose(harmonizer.transform(array), ComBatHarmonizer().fit_transform(X))
    assert harmonizer.get_feature_names_out().tolist() == [f"x{j}" for j in range(1, 13)]


def test_clone_pickle_and_in_fold_pipeline():
    X = two_centers(60, 60, seed=8)
    y = (X["f0"] + X["f1"] > X.groupby("center")["f0"].transform("mean")).astype(int)
    harmonizer = ComBatHarmonizer(covariates=None, prior="nonparametric").fit(X)
    restored = pickle.loads(pickle.dumps(harmonizer))
    np.testing.assert_array_equal(restored.transform(X), harmonizer.transform(X))
    assert clone(harmonizer).get_params() == harmonizer.get_params()
    assert not hasattr(clone(harmonizer), "gamma_")
    model = make_pipeline(ComBatHarmonizer(), LogisticRegression())
    folds = StratifiedKFold(4, shuffle=True, random_state=0)
    assert cross_val_score(model, X, y, cv=folds, scoring="roc_auc").mean() > 0.8


def test_study_pipeline_harmonizes_before_the_icc_filter():
    from rdinet_sklearn.study import make_config
    from rdinet_sklearn.study._models import radiomics_model

    config = make_config(
        "quick", overrides=["radiomics.harmonization={batch_column: center, unseen: estimate}"]
    )
    model, _ = radiomics_model("logreg", config)
    assert model.steps[0][0] == "harmonize" and model[0].unseen == "estimate"
    X = two_centers(30, 30, seed=9)
    rng = np.random.default_rng(9)
    for name in FEATURES:  # a second rater's close copy of every feature
        X[f"{name}__rater2"] = X[name] + rng.normal(0, 0.05, len(X))
    y = (X["f0"] > X.groupby("center")["f0"].transform("median")).astype(int)
    fitted = clone(model).fit(X, y)  # clone keeps the pandas output the ICC filter needs
    assert fitted["reproducibility"].rater2_mask_.sum() == len(FEATURES)
    assert not any(name.endswith("__rater2") for name in fitted[:-1].get_feature_names_out())
    assert "harmonize" not in radiomics_model("logreg", make_config("quick"))[0].named_steps
