"""Reproducibility without a second rater: perturbed extractions and their ICC filter."""

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

from rdinet_sklearn import PERTURBATION_SUFFIX
from rdinet_sklearn.radiomics import (
    ExtractionError,
    RadiomicsExtractor,
    clear_process_cache,
    extraction_stats,
)
from rdinet_sklearn.radiomics._perturbation import perturbation_chain
from rdinet_sklearn.selection import (
    PerturbationReproducibilityFilter,
    SelectionFallbackWarning,
    intraclass_correlation,
)

PARAMS = {
    "imageType": {"Original": {}},
    "featureClass": {"shape": ["VoxelVolume"], "firstorder": ["Mean", "Variance"]},
    "setting": {"binWidth": 25},
}
SHAPE = (6, 32, 32)  # slices, rows, columns
SPACING = (1.0, 1.0, 3.0)  # thick slices: dilation and erosion act in-plane


def _write_case(folder, name, rng, roi_slices=np.s_[1:5, 8:20, 8:20], signal=0.0):
    image = rng.normal(100.0 + 40 * signal, 20.0, SHAPE)
    labels = np.zeros(SHAPE, np.uint8)
    labels[roi_slices] = 3
    paths = {}
    for key, array in (("image", image), ("mask", labels)):
        volume = sitk.GetImageFromArray(array)
        volume.SetSpacing(SPACING)
        paths[key] = str(folder / f"{name}_{key}.nii.gz")
        sitk.WriteImage(volume, paths[key])
    return paths


@pytest.fixture(autouse=True)
def _fresh_process_cache():
    clear_process_cache()
    yield
    clear_process_cache()


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    """8 cases with one square ROI each; the ROI mean carries the class."""
    folder = tmp_path_factory.mktemp("perturbation_cases")
    rng = np.random.default_rng(0)
    y = pd.Series([0, 1] * 4, index=[f"P{i}" for i in range(8)])
    rows = {case: _write_case(folder, case, rng, signal=label) for case, label in y.items()}
    return pd.DataFrame.from_dict(rows, orient="index"), y


def _extractor(**kwargs):
    return RadiomicsExtractor(roi="MR", params=PARAMS, progress=False, **kwargs)


def test_perturbed_columns_are_seeded_cached_and_named(cases):
    table, _ = cases
    features = _extractor(perturbations=3).fit_transform(table)
    base = ["MR_original_shape_VoxelVolume", "MR_original_firstorder_Mean"]
    base.append("MR_original_firstorder_Variance")
    assert list(features.columns) == [
        f"{n}{s}" for s in ("", "__perturbed1", "__perturbed2", "__perturbed3") for n in base
    ]
    assert extraction_stats()["extracted"] == 8 * 4
    volume = features.filter(like="VoxelVolume")
    # Odd perturbations dilate, even ones erode, by one voxel in-plane (12 x 12 x 4 ROI).
    assert (volume["MR_original_shape_VoxelVolume"] == 12 * 12 * 4 * 3.0).all()
    assert (volume["MR_original_shape_VoxelVolume__perturbed1"] > 12 * 12 * 4 * 3.0).all()
    assert (volume["MR_original_shape_VoxelVolume__perturbed2"] < 12 * 12 * 4 * 3.0).all()
    # Noise and resampling move the mean a little, not much.
    mean = features["MR_original_firstorder_Mean"]
    for k in (1, 2, 3):
        moved = features[f"MR_original_firstorder_Mean__perturbed{k}"]
        assert not np.allclose(moved, mean) and np.allclose(moved, mean, atol=15)
    # Same seed, same values (from the cache or not); another seed, another chain.
    clear_process_cache()
    pd.testing.assert_frame_equal(_extractor(perturbations=3).fit_transform(table), features)
    other = _extractor(perturbations=3, random_state=1).fit_transform(table)
    assert not np.allclose(other.iloc[:, 3:], features.iloc[:, 3:])
    assert perturbation_chain(3, 0) == perturbation_chain(3, 0) != perturbation_chain(3, 1)
    # The noise depends on the image, not on its row: reversed rows, same values.
    clear_process_cache()
    again = _extractor(perturbations=3).fit_transform(table.iloc[::-1])
    pd.testing.assert_frame_equal(again.iloc[::-1], features)
    info = _extractor(perturbations=3).fit(table).feature_info_
    assert info["perturbation"].tolist() == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3
    assert (info["rater"] == 1).all()


def test_grid_search_with_the_perturbation_filter_extracts_each_case_once(cases):
    table, y = cases
    model = make_pipeline(
        _extractor(perturbations=2),
        PerturbationReproducibilityFilter(),
        SVC(),
    )
    search = GridSearchCV(
        model,
        {"perturbationreproducibilityfilter__threshold": [0.5, 0.9], "svc__C": [0.1, 1.0]},
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
        scoring="roc_auc",
        error_score="raise",
    )
    search.fit(table, y)
    assert extraction_stats()["extracted"] == 8 * 3  # 4 candidates x 2 folds + refit: once
    selector = search.best_estimator_[1]
    assert selector.n_perturbations_ == 2
    assert "MR_original_firstorder_Mean" in selector.get_feature_names_out()
    assert not any(PERTURBATION_SUFFIX in n for n in selector.get_feature_names_out())


def _perturbed_table(rng, n=12):
    stable, noisy = rng.normal(size=(2, n))
    X = pd.DataFrame({"stable": stable, "noisy": noisy, "age": rng.normal(size=n)})
    for k in (1, 2, 3):
        X[f"stable__perturbed{k}"] = stable + rng.normal(scale=0.05, size=n)
        X[f"noisy__perturbed{k}"] = rng.normal(size=n)
    return X


def test_filter_icc_over_original_and_every_perturbation():
    X = _perturbed_table(np.random.default_rng(0))
    selector = PerturbationReproducibilityFilter(threshold=0.75).fit(X)
    assert selector.n_perturbations_ == 3
    assert list(selector.get_feature_names_out()) == ["stable", "age"]  # age: unpaired, kept
    ratings = np.stack(
        [X[["stable", "noisy"]].to_numpy()]
        + [X[[f"stable__perturbed{k}", f"noisy__perturbed{k}"]].to_numpy() for k in (1, 2, 3)],
        axis=1,
    )
    expected = intraclass_correlation(ratings, kind="ICC(1,1)")
    np.testing.assert_allclose(selector.icc_table_.loc[["stable", "noisy"], "icc"], expected)
    assert selector.icc_table_.loc["age", "paired"] == False  # noqa: E712
    assert selector.perturbed_mask_.sum() == 6
    dropped = PerturbationReproducibilityFilter(unpaired="drop").fit(X)
    assert list(dropped.get_feature_names_out()) == ["stable"]
    out = selector.set_output(transform="pandas").transform(X.iloc[:4])
    assert list(out.columns) == ["stable", "age"]


def test_filter_is_fitted_on_the_training_rows_only():
    X = _perturbed_table(np.random.default_rng(1), n=20)
    train = X.iloc[:10]
    full = PerturbationReproducibilityFilter().fit(X).icc_table_["icc"]
    part = PerturbationReproducibilityFilter().fit(train).icc_table_["icc"]
    ratings = np.stack(
        [train[["noisy"]].to_numpy()]
        + [train[[f"noisy__perturbed{k}"]].to_numpy() for k in (1, 2, 3)],
        axis=1,
    )
    assert part["noisy"] == pytest.approx(intraclass_correlation(ratings, kind="ICC(1,1)")[0])
    assert part["noisy"] != pytest.approx(full["noisy"])


def test_filter_refuses_missing_perturbations_nan_and_too_few_rows():
    X = _perturbed_table(np.random.default_rng(2))
    with pytest.raises(ValueError, match=r"lack some of the 3 perturbed columns.*'noisy'"):
        PerturbationReproducibilityFilter().fit(X.drop(columns="noisy__perturbed2"))
    bad = X.copy()
    bad.iloc[4, bad.columns.get_loc("stable__perturbed3")] = np.nan
    bad.index = [f"P{i}" for i in range(len(bad))]
    with pytest.raises(ValueError, match=r"NaN in .* 'stable__perturbed3' at rows \['P4'\]"):
        PerturbationReproducibilityFilter().fit(bad)
    with pytest.raises(ValueError, match="at least 3 rows"):
        PerturbationReproducibilityFilter().fit(X.iloc[:2])
    with pytest.warns(SelectionFallbackWarning, match="no perturbed column"):
        PerturbationReproducibilityFilter().fit(X[["stable", "noisy"]])


@pytest.mark.parametrize(
    ("roi_slices", "problem"),
    [
        (np.s_[1:5, 0:32, 8:20], "moves .* ROI voxels out of the image"),  # rows 0 to 31
        (np.s_[1:5, 8:20, 10:12], "leaves an empty ROI"),  # two voxels wide: erodes away
        (np.s_[2:4, 8:11, 8:11], r"2 ROI voxel\(s\) left: pyradiomics failed"),  # 3 x 3 x 2
    ],
    ids=["leaves-image", "erodes-to-nothing", "too-small"],
)
def test_failed_perturbations_name_the_patient_and_the_perturbation(tmp_path, roi_slices, problem):
    rng = np.random.default_rng(3)
    rows = {f"P{i}": _write_case(tmp_path, f"P{i}", rng) for i in range(2)}
    rows["P2"] = _write_case(tmp_path, "P2", rng, roi_slices=roi_slices)
    table = pd.DataFrame.from_dict(rows, orient="index")
    with pytest.raises(ExtractionError) as caught:
        _extractor(perturbations=2).fit_transform(table)
    failures = caught.value.failures
    assert {f.row for f in failures} == {"P2"}
    assert any(f"perturbation {k} (" in str(f) for f in failures for k in (1, 2))
    assert any(pd.Series([str(f) for f in failures]).str.contains(problem))


def test_a_fitted_one_rater_pipeline_saves_and_loads(cases, tmp_path):
    from rdinet_sklearn.io import load, save

    table, y = cases
    model = make_pipeline(_extractor(perturbations=2), PerturbationReproducibilityFilter(), SVC())
    model.fit(table, y)
    save(model, tmp_path / "model.skops")
    loaded = load(tmp_path / "model.skops")
    np.testing.assert_array_equal(loaded.decision_function(table), model.decision_function(table))
    pd.testing.assert_frame_equal(loaded[0].feature_info_, model[0].feature_info_)
