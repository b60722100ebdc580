"""Values, policies and errors of the radiomics feature selectors."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from scipy import stats
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from rdinet_sklearn._cases import REFERENCE_SUFFIX
from rdinet_sklearn.selection import (
    LassoSelector,
    ReproducibilityFilter,
    SelectionFallbackWarning,
    TTestSelector,
    icc_mean_squares,
    intraclass_correlation,
    two_sample_test,
)
from rdinet_sklearn.selection._lasso import l1_penalty_options

# pingouin's own use of a pandas keyword deprecated in pandas 3; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.dropna")

PINGOUIN_ROW = {"ICC(1,1)": "ICC(1,1)", "ICC(2,1)": "ICC(A,1)", "ICC(3,1)": "ICC(C,1)"}


def pingouin_icc(table, kind):
    """ICC of one subjects x raters table by pingouin (rows with a NaN dropped).

    pingouin is a dev extra only: the lowest-versions CI job (``.ci/lowest``) installs the
    core dependencies alone, where the comparisons with it skip.
    """
    pingouin = pytest.importorskip("pingouin")
    wide = pd.DataFrame(table).dropna()
    long = wide.rename_axis("subject").reset_index().melt(id_vars="subject", var_name="rater")
    result = pingouin.intraclass_corr(long, targets="subject", raters="rater", ratings="value")
    return result.set_index("Type").loc[PINGOUIN_ROW[kind], "ICC"]


def paired_frame(n=40, seed=0, n_single=12):
    """Radiomics-like table: rater-1 features, their ``__rater2`` partners, binary y.

    ``MR_Mean`` is reproducible (small rater noise), ``LR_Volume`` fairly so, ``SR_Contrast``
    is not (rater 2 is unrelated); the first ``n_single`` patients have no second mask.
    """
    rng = np.random.default_rng(seed)
    y = np.tile([0, 1], n // 2)
    mean = rng.normal(size=n) + 1.5 * y
    volume = rng.normal(size=n)
    contrast = rng.normal(size=n)
    X = pd.DataFrame(
        {
            "MR_Mean": mean,
            "MR_Mean" + REFERENCE_SUFFIX: mean + rng.normal(scale=0.1, size=n),
            "LR_Volume": volume,
            "LR_Volume" + REFERENCE_SUFFIX: volume + rng.normal(scale=0.4, size=n),
            "SR_Contrast": contrast,
            "SR_Contrast" + REFERENCE_SUFFIX: rng.normal(size=n),
        },
        index=[f"P{i:03d}" for i in range(n)],
    )
    X.iloc[:n_single, 1::2] = np.nan
    return X, pd.Series(y, index=X.index, name="response")


# --- ICC functions ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("n_raters", [2, 3])
@pytest.mark.parametrize("kind", ["ICC(1,1)", "ICC(2,1)", "ICC(3,1)"])
def test_icc_matches_pingouin(seed, n_raters, kind):
    rng = np.random.default_rng(seed)
    n_subjects, n_features = 15 + 5 * seed, 4
    truth = rng.normal(scale=rng.uniform(0.5, 3), size=(n_subjects, 1, n_features))
    rater_bias = rng.normal(size=(1, n_raters, n_features))
    ratings = truth + rater_bias + rng.normal(size=(n_subjects, n_raters, n_features))
    ratings[rng.choice(n_subjects, 3, replace=False), -1, 1] = np.nan  # feature 1: 3 missing

    ours = intraclass_correlation(ratings, kind=kind)

    expected = [pingouin_icc(ratings[:, :, f], kind) for f in range(n_features)]
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-10)


def test_icc_forms_differ_as_documented_on_a_rater_offset():
    rng = np.random.default_rng(0)
    rater1 = rng.normal(size=(30, 1))
    ratings = np.stack([rater1, rater1 + 2.0], axis=1)  # rater 2 = rater 1 + constant
    assert intraclass_correlation(ratings, kind="ICC(3,1)")[0] == pytest.approx(1.0)
    assert intraclass_correlation(ratings, kind="ICC(2,1)")[0] < 0.5
    assert intraclass_correlation(ratings, kind="ICC(1,1)")[0] < 0.5


def test_icc_is_nan_for_constant_features_and_too_few_subjects():
    ratings = np.ones((6, 2, 3))
    ratings[:, :, 1] = np.arange(6)[:, None] * 1.0
    ratings[:, 1, 1] += 0.1 * np.array([1, -1, 1, -1, 1, -1])
    ratings[1:, 1, 2] = np.nan  # feature 2: only one complete subject
    ratings[:, 0, 2] = np.arange(6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        icc = intraclass_correlation(ratings, kind="ICC(2,1)")
    assert np.isnan(icc[0]) and np.isnan(icc[2])
    assert 0.99 < icc[1] < 1
    assert icc_mean_squares(ratings).n_subjects.tolist() == [6, 6, 1]


def test_icc_rejects_bad_kind_and_shape():
    with pytest.raises(ValueError, match="kind must be one of"):
        intraclass_correlation(np.zeros((4, 2, 1)), kind="ICC(2,k)")
    with pytest.raises(ValueError, match="n_raters >= 2"):
        intraclass_correlation(np.zeros((4, 2)))


# --- ReproducibilityFilter ----------------------------------------------------------------


def test_reproducibility_filter_keeps_reproducible_rater1_features_only():
    X, _ = paired_frame()
    selector = ReproducibilityFilter(threshold=0.75).fit(X)
    assert list(selector.get_feature_names_out()) == ["MR_Mean", "LR_Volume"]
    assert not selector.support_[selector.rater2_mask_].any()
    assert selector.rater2_mask_.tolist() == [False, True] * 3
    assert selector.icc_table_.loc["SR_Contrast", "icc"] < 0.5
    assert selector.icc_table_["n_pairs"].tolist() == [28, 28, 28]
    assert np.isnan(selector.icc_[selector.rater2_mask_]).all()


@pytest.mark.parametrize("kind", ["ICC(1,1)", "ICC(2,1)", "ICC(3,1)"])
def test_reproducibility_filter_icc_equals_pingouin_on_rows_with_both_raters(kind):
    X, _ = paired_frame(seed=3)
    selector = ReproducibilityFilter(icc=kind).fit(X)
    for feature in ["MR_Mean", "LR_Volume", "SR_Contrast"]:
        table = X[[feature, feature + REFERENCE_SUFFIX]].to_numpy()
        expected = pingouin_icc(table, kind)
        assert selector.icc_table_.loc[feature, "icc"] == pytest.approx(expected, abs=1e-10)


def test_reproducibility_threshold_is_inclusive():
    X, _ = paired_frame()
    icc = ReproducibilityFilter().fit(X).icc_table_["icc"]
    at_volume = ReproducibilityFilter(threshold=icc["LR_Volume"]).fit(X)
    assert "LR_Volume" in at_volume.get_feature_names_out()
    above = ReproducibilityFilter(threshold=np.nextafter(icc["LR_Volume"], 1)).fit(X)
    assert "LR_Volume" not in above.get_feature_names_out()


def test_reproducibility_filter_uses_only_the_fit_rows():
    X, _ = paired_frame(n=60, n_single=10)
    train = X.iloc[:35]
    selector = ReproducibilityFilter().fit(train)
    paired = train.iloc[10:]  # training rows with a second mask
    ratings = np.stack(
        [paired[["MR_Mean", "LR_Volume"]].to_numpy(), paired.iloc[:, [1, 3]].to_numpy()], axis=1
    )
    expected = intraclass_correlation(ratings, kind="ICC(2,1)")
    np.testing.assert_allclose(selector.icc_table_["icc"].iloc[:2], expected, atol=1e-12)
    full = ReproducibilityFilter().fit(X).icc_table_["icc"]
    assert not np.allclose(full.iloc[:2], expected)
    assert selector.icc_table_["n_pairs"].tolist() == [25, 25, 25]


def test_reproducibility_filter_drops_constant_features():
    X, _ = paired_frame()
    X["MR_Flat"] = 7.0
    X["MR_Flat" + REFERENCE_SUFFIX] = 7.0
    selector = ReproducibilityFilter(threshold=-1).fit(X)  # keeps every defined ICC
    assert np.isnan(selector.icc_table_.loc["MR_Flat", "icc"])
    assert "MR_Flat" not in selector.get_feature_names_out()
    assert "SR_Contrast" in selector.get_feature_names_out()


def test_reproducibility_filter_without_rater2_columns_keeps_all_with_a_warning():
    X = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.warns(SelectionFallbackWarning, match="no rater-2 column"):
        selector = ReproducibilityFilter().fit(X)
    assert selector.support_.all() and np.isnan(selector.icc_).all()
    np.testing.assert_array_equal(selector.transform(X), X)


def test_reproducibility_filter_unpaired_policy():
    X, _ = paired_frame()
    X["age"] = np.arange(len(X), dtype=float)
    kept = ReproducibilityFilter().fit(X)
    assert "age" in kept.get_feature_names_out()
    assert not kept.icc_table_.loc["age", "paired"]
    dropped = ReproducibilityFilter(unpaired="drop").fit(X)
    assert list(dropped.get_feature_names_out()) == ["MR_Mean", "LR_Volume"]


def test_reproducibility_filter_errors_name_the_feature_and_rows():
    X, _ = paired_frame()
    bad = X.copy()
    bad.loc["P007", "LR_Volume"] = np.nan
    with pytest.raises(ValueError, match=r"NaN in rater-1 feature 'LR_Volume' at rows \['P007'\]"):
        ReproducibilityFilter().fit(bad)
    few = X.copy()
    few.iloc[:-2, 3] = np.nan
    with pytest.raises(ValueError, match=r"at least 3 rows .* 'LR_Volume' \(2\)"):
        ReproducibilityFilter().fit(few)
    inf = X.copy()
    inf.iloc[20, 1] = np.inf
    with pytest.raises(ValueError, match="inf"):
        ReproducibilityFilter().fit(inf)
    selector = ReproducibilityFilter().fit(X)
    with pytest.raises(ValueError, match=r"NaN in feature 'MR_Mean' at rows \['P003'\]"):
        selector.transform(X.assign(MR_Mean=X["MR_Mean"].where(X.index != "P003")))


def test_reproducibility_filter_transform_accepts_rater2_nan_and_outputs_pandas():
    X, _ = paired_frame()
    selector = ReproducibilityFilter().set_output(transform="pandas").fit(X)
    out = selector.transform(X)
    assert list(out.columns) == ["MR_Mean", "LR_Volume"]
    assert out.index.equals(X.index)
    pd.testing.assert_frame_equal(out, X[["MR_Mean", "LR_Volume"]])


# --- TTestSelector ------------------------------------------------------------------------


def shifted_features(n=40, n_features=6, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    X = rng.normal(size=(n, n_features)) * rng.uniform(0.5, 2, size=n_features)
    X[:, 0] += 1.5 * y  # strong
    X[:, 1] += 0.6 * y  # weak
    return X, y


@pytest.mark.parametrize(
    ("test", "reference"),
    [
        ("welch", lambda a, b: stats.ttest_ind(a, b, equal_var=False)),
        ("student", lambda a, b: stats.ttest_ind(a, b, equal_var=True)),
        ("mannwhitney", lambda a, b: stats.mannwhitneyu(a, b, alternative="two-sided")),
    ],
)
def test_ttest_selector_matches_scipy_per_feature(test, reference):
    X, y = shifted_features()
    selector = TTestSelector(test=test).fit(X, y)
    for j in range(X.shape[1]):
        expected = reference(X[y == 1, j], X[y == 0, j])
        assert selector.statistics_[j] == pytest.approx(expected.statistic, rel=1e-12)
        assert selector.pvalues_[j] == pytest.approx(expected.pvalue, rel=1e-12)


def test_ttest_selector_alpha_and_bh_correction():
    X, y = shifted_features(n_features=30, seed=1)
    X[:, 0] += 3 * y  # survives the correction for 30 tests
    raw = TTestSelector(alpha=0.05).fit(X, y)
    np.testing.assert_array_equal(raw.support_, raw.pvalues_ < 0.05)
    corrected = TTestSelector(alpha=0.05, correction="fdr_bh", min_features=0).fit(X, y)
    # Benjamini-Hochberg by hand: q_(i) = min_{l >= i} m p_(l) / l.
    order = np.argsort(raw.pvalues_)
    m = raw.pvalues_.size
    scaled = raw.pvalues_[order] * m / np.arange(1, m + 1)
    q = np.empty(m)
    q[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1)
    np.testing.assert_allclose(corrected.adjusted_pvalues_, q, rtol=1e-12)
    np.testing.assert_array_equal(corrected.support_, q < 0.05)
    assert corrected.support_.sum() <= raw.support_.sum()
    assert corrected.support_[0]


def test_ttest_selector_min_features_fallback():
    X, y = shifted_features()
    with pytest.warns(SelectionFallbackWarning, match="keeping the 2 with the smallest"):
        selector = TTestSelector(alpha=1e-12, min_features=2).fit(X, y)
    assert np.flatnonzero(selector.support_).tolist() == sorted(np.argsort(selector.pvalues_)[:2])
    with warnings.catch_warnings():
        warnings.simplefilter("error", SelectionFallbackWarning)
        empty = TTestSelector(alpha=1e-12, min_features=0).fit(X, y)
    assert not empty.support_.any()


def test_ttest_selector_constant_feature_has_p_one_without_warnings():
    X, y = shifted_features()
    X[:, 3] = 2.5
    for test in ["welch", "student", "mannwhitney"]:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            selector = TTestSelector(test=test).fit(X, y)
        assert selector.pvalues_[3] == 1.0
    statistic, pvalue = two_sample_test(X, y, test="welch")
    assert statistic[3] == 0 and pvalue[3] == 1


def test_ttest_selector_string_labels_and_dataframe():
    X, y = shifted_features()
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    labels = np.where(y == 1, "responder", "non-responder")
    selector = TTestSelector().set_output(transform="pandas").fit(frame, labels)
    assert selector.classes_.tolist() == ["non-responder", "responder"]
    assert selector.statistics_[0] > 0  # responders minus non-responders
    assert list(selector.transform(frame).columns) == list(selector.get_feature_names_out())
    assert selector.feature_names_in_.tolist() == list(frame.columns)


@pytest.mark.parametrize("selector", [TTestSelector(), LassoSelector(Cs=3, cv=2)])
@pytest.mark.parametrize(
    ("y", "message"),
    [
        (np.zeros(20), "only one class"),
        (np.arange(20) % 3, "needs a binary y, but y has 3 classes"),
        (np.linspace(0, 1, 20), "Unknown label type: 'continuous'"),
    ],
)
def test_binary_target_required(selector, y, message):
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match=message):
        selector.fit(X, y)


@pytest.mark.parametrize("selector", [TTestSelector(), LassoSelector(Cs=3, cv=2)])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_x_is_rejected(selector, bad):
    X, y = shifted_features()
    X[4, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        selector.fit(X, y)


# --- LassoSelector ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sparse_problem():
    X, y = make_classification(
        n_samples=120,
        n_features=15,
        n_informative=3,
        n_redundant=0,
        shuffle=False,
        class_sep=0.8,
        random_state=3,
    )
    return X, y


def test_lasso_is_pure_l1_and_sparse_without_warnings():
    # Wide problem of the issue: L2 (the pre-1.8 default when only l1_ratio is given)
    # keeps every column; L1 keeps a handful. Any warning (deprecation included) fails.
    X, y = make_classification(
        n_samples=120, n_features=100, n_informative=4, n_redundant=0, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        selector = LassoSelector(Cs=8, cv=3, random_state=0).fit(X, y)
    assert 1 <= selector.support_.sum() <= 30
    assert np.count_nonzero(selector.coef_) == selector.support_.sum()


def test_l1_penalty_options_follow_the_scikit_learn_version():
    assert l1_penalty_options("1.6.1") == {"penalty": "l1"}
    assert l1_penalty_options("1.7.2") == {"penalty": "l1"}
    assert l1_penalty_options("1.8.0rc1") == {"l1_ratio": 1.0}
    assert l1_penalty_options("1.9.1") == {"l1_ratio": 1.0}


def test_lasso_selector_is_deterministic_and_finds_informative_features(sparse_problem):
    X, y = sparse_problem
    first = LassoSelector(Cs=12, random_state=0).fit(X, y)
    second = LassoSelector(Cs=12, random_state=0).fit(X, y)
    np.testing.assert_array_equal(first.coef_, second.coef_)
    np.testing.assert_array_equal(first.cv_scores_, second.cv_scores_)
    assert first.cv_scores_.shape == (12, 5)
    assert np.all(np.diff(first.Cs_) > 0)
    assert first.C_ == first.Cs_[np.argmax(first.cv_scores_.mean(axis=1))]
    assert first.support_[:3].sum() >= 2
    np.testing.assert_array_equal(first.support_, first.coef_ != 0)


def test_lasso_one_standard_error_rule_is_sparser(sparse_problem):
    X, y = sparse_problem
    best = LassoSelector(Cs=12, rule="min", random_state=0).fit(X, y)
    one_se = LassoSelector(Cs=12, rule="1se", random_state=0).fit(X, y)
    assert one_se.C_ <= best.C_
    assert one_se.support_.sum() <= best.support_.sum()
    mean = one_se.cv_scores_.mean(axis=1)
    top = np.argmax(mean)
    se = one_se.cv_scores_[top].std(ddof=1) / np.sqrt(5)
    chosen = np.flatnonzero(one_se.Cs_ == one_se.C_)[0]
    assert mean[chosen] >= mean[top] - se
    assert np.all(mean[:chosen] < mean[top] - se)


def test_lasso_coefficients_are_on_the_standardised_scale(sparse_problem):
    X, y = sparse_problem
    base = LassoSelector(Cs=8, random_state=0).fit(X, y)
    rescaled = LassoSelector(Cs=8, random_state=0).fit(X * np.geomspace(1e-3, 1e3, 15), y)
    np.testing.assert_allclose(rescaled.coef_, base.coef_, rtol=1e-6, atol=1e-8)


def test_lasso_max_features_keeps_largest_coefficients(sparse_problem):
    X, y = sparse_problem
    full = LassoSelector(Cs=8, random_state=0).fit(X, y)
    capped = LassoSelector(Cs=8, max_features=2, random_state=0).fit(X, y)
    assert full.support_.sum() > 2 and capped.support_.sum() == 2
    np.testing.assert_array_equal(
        np.sort(np.argsort(-np.abs(full.coef_))[:2]), np.flatnonzero(capped.support_)
    )


def test_lasso_all_zero_policy_keeps_first_feature_on_the_path(sparse_problem):
    X, y = sparse_problem
    with pytest.warns(SelectionFallbackWarning, match="All L1 coefficients are zero"):
        selector = LassoSelector(Cs=[1e-6, 2e-6], random_state=0).fit(X, y)
    assert not selector.coef_.any()
    correlation = [abs(stats.pearsonr(X[:, j], y).statistic) for j in range(X.shape[1])]
    assert np.flatnonzero(selector.support_).tolist() == [int(np.argmax(correlation))]


def test_lasso_custom_cv_and_scoring(sparse_problem):
    X, y = sparse_problem
    selector = LassoSelector(Cs=4, cv=StratifiedKFold(3), scoring="accuracy").fit(X, y)
    assert selector.cv_scores_.shape == (4, 3)
    assert np.all((selector.cv_scores_ >= 0) & (selector.cv_scores_ <= 1))


# --- all three: persistence and pipelines -------------------------------------------------


@pytest.mark.parametrize(
    "selector",
    [ReproducibilityFilter(), TTestSelector(), LassoSelector(Cs=5, cv=3, random_state=0)],
    ids=["repro", "ttest", "lasso"],
)
def test_clone_and_pickle_round_trip(selector):
    X, y = paired_frame()
    if not isinstance(selector, ReproducibilityFilter):
        X = X.drop(columns=[c for c in X.columns if c.endswith(REFERENCE_SUFFIX)])
    fitted = clone(selector).fit(X, y)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(X), fitted.transform(X))
    assert clone(fitted).get_params() == selector.get_params()
    assert fitted.n_features_in_ == X.shape[1]
    assert list(fitted.feature_names_in_) == list(X.columns)


def test_selectors_in_imblearn_pipeline_with_smote_and_cross_validation():
    X, y = paired_frame(n=60, seed=5, n_single=20)
    pipeline = Pipeline(
        [
            ("reproducible", ReproducibilityFilter(threshold=0.75)),
            ("ttest", TTestSelector(alpha=0.2, min_features=1)),
            ("lasso", LassoSelector(Cs=5, cv=3, random_state=0)),
            ("smote", SMOTE(k_neighbors=3, random_state=0)),
            ("model", LogisticRegression()),
        ]
    ).set_output(transform="pandas")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SelectionFallbackWarning)
        scores = cross_val_score(
            pipeline, X, y, cv=StratifiedKFold(3, shuffle=True, random_state=0), scoring="roc_auc"
        )
        fitted = pipeline.fit(X, y)
    assert np.all(np.isfinite(scores)) and scores.mean() > 0.7
    assert set(fitted[:-2].get_feature_names_out()) <= {"MR_Mean", "LR_Volume"}


def test_mann_whitney_p_value_of_a_column_ignores_the_other_columns():
    # 6 vs 6 samples: scipy's "auto" gives the exact p-value to an untied column and the
    # asymptotic one to a tied column; adding the tied column must not change the first.
    y = np.repeat([0, 1], 6)
    untied = np.array([1.0, 2.0, 3.0, 5.0, 6.0, 8.0, 4.0, 7.0, 9.0, 10.0, 11.0, 12.0])
    tied = np.array([1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0, 4.0, 5.0, 5.0, 5.0])
    _, alone = two_sample_test(untied[:, None], y, test="mannwhitney")
    _, together = two_sample_test(np.column_stack([untied, tied]), y, test="mannwhitney")
    exact = stats.mannwhitneyu(untied[6:], untied[:6], method="exact").pvalue
    asymptotic = stats.mannwhitneyu(tied[6:], tied[:6], method="asymptotic").pvalue
    assert alone[0] == together[0] == pytest.approx(exact)
    assert together[1] == pytest.approx(asymptotic)
    # The two methods differ on the untied column, so a shared method would be caught.
    assert exact != pytest.approx(
        stats.mannwhitneyu(untied[6:], untied[:6], method="asymptotic").pvalue, rel=1e-3
    )
