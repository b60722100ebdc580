"""ROISegmenter directly before RDINetClassifier: the segmenter's own columns are no features.

RDINetClassifier reads every column but the image and mask paths as a tabular input; the
segmenter adds the manual masks' paths (left out as row identifiers) and, unless
``flag_column=None``, a text column of flags, which is no clinical feature.
"""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from rdinet_sklearn import ROISegmenter
from rdinet_sklearn.nn import RDINetClassifier

STRUCTURES = {"MR": 3, "LR": 4}


@pytest.fixture(scope="module")
def numeric_cases(small_cohort):
    """The real synthetic cohort's files with its numeric clinical columns only."""
    cases, y = small_cohort
    text = [c for c in cases.columns if cases[c].dtype == object or str(cases[c].dtype) == "str"]
    keep = ["image", "mask", *[c for c in cases.columns if c not in text]]
    return cases.set_index("patient_id")[keep], np.asarray(y)


def _segmenter(**params):
    return ROISegmenter(STRUCTURES, grid_size=(8, 32, 64), max_epochs=25, random_state=0, **params)


def _rdinet():
    return RDINetClassifier(
        roi=("MR", "LR"),
        labels=STRUCTURES,
        depth=10,
        volume_size=(4, 16, 16),
        max_epochs=1,
        batch_size=8,
        random_state=0,
        module__widen_factor=0.5,
    )


# a short training: some predicted structures are below min_volume, as flagged
pytestmark = pytest.mark.filterwarnings("ignore::rdinet_sklearn.segmentation.SmallStructureWarning")


def test_flag_column_none_keeps_rdinet_on_the_clinical_columns(numeric_cases):
    cases, y = numeric_cases
    clinical = [c for c in cases.columns if c not in ("image", "mask")]
    pipeline = make_pipeline(_segmenter(flag_column=None), _rdinet())
    pipeline.fit(cases.iloc[:16], y[:16])
    proba = pipeline.predict_proba(cases.iloc[16:])[:, 1]
    assert list(pipeline[-1].tabular_features_in_) == clinical  # no mask_manual, no flag
    assert proba.shape == (8,) and np.isfinite(proba).all()
    # the network cropped the predicted masks, not the manual ones
    assert pipeline[0].transform(cases.iloc[:1])["mask"].item() != cases["mask"].iloc[0]


def test_the_default_flag_column_is_text_the_classifier_would_read(numeric_cases):
    """Why pipelines into RDINetClassifier set ``flag_column=None`` (see its docstring)."""
    cases, _ = numeric_cases
    out = _segmenter().fit(cases.iloc[:16]).transform(cases.iloc[16:])
    assert out["segmentation_flag"].map(type).eq(str).all()
    assert (
        "segmentation_flag"
        not in _segmenter(flag_column=None).fit(cases.iloc[:16]).transform(cases.iloc[16:]).columns
    )
